# Every query of the Grafana dashboard (docker/grafana/dashboards/strangler.json)
# against a real Prometheus (Debian's `prometheus`) scraping a real nginx
# with the module under 12 s of traffic: each returns data.  The test is
# tests/dashboard/grafana_test.py; it prints TAP.  About 20 seconds.
use strict;
use warnings;
use FindBin;

exec '/usr/bin/python3', "$FindBin::Bin/dashboard/grafana_test.py"
    or die "python3: $!";
