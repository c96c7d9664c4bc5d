# No change from another site, in a real headless Chromium (as 071): a page
# on another origin tries forms and no-cors fetches that POST, a PUT and a
# DELETE against the API; nginx refuses them (its log says so) and nothing
# changes (the API says so); the dashboard's rollback button still works.
# The test is tests/dashboard/cross_site_test.py; it prints TAP.  About 10
# seconds.
use strict;
use warnings;
use FindBin;

exec '/usr/bin/python3', "$FindBin::Bin/dashboard/cross_site_test.py"
    or die "python3: $!";
