# The dashboard's "Next to move" panel (issue 23) in a real headless
# Chromium against a real nginx: the routes not yet moved, ready first,
# with their next step and the reasons of those not ready, under the
# page's CSP.  The test is tests/dashboard/plan_test.py; it prints TAP.
use strict;
use warnings;
use FindBin;

exec '/usr/bin/python3', "$FindBin::Bin/dashboard/plan_test.py"
    or die "python3: $!";
