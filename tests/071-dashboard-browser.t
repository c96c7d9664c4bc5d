# The dashboard in a real headless Chromium (Debian's `chromium`, driven
# over the DevTools protocol with python3-websockets) against a real nginx
# with the module: it loads with no console error under its CSP, shows the
# demo table's routes and the progress, follows traffic and overrides, its
# rollback button rolls back (checked through the API), accessibility
# basics hold, and it is read-only where nginx denies writes.  The test is
# tests/dashboard/browser_test.py; it prints TAP.  About 5 seconds.
use strict;
use warnings;
use FindBin;

exec '/usr/bin/python3', "$FindBin::Bin/dashboard/browser_test.py"
    or die "python3: $!";
