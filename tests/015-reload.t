# `nginx -s reload` with a bad route table keeps the old table serving; a
# good one takes over.  Plain Test::More: Test::Nginx restarts nginx for
# every block, and this needs one nginx across reloads.
use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use Time::HiRes qw(sleep);

use StranglerNginx;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $prefix = nginx_prefix();

my ($front, $mono, $msgs) = (free_port(), free_port(), free_port());

sub table {
    my ($reads) = @_;
    return <<"END";
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/*"]
    reads: $reads
END
}

my $load = join '', map { "load_module $_;\n" } split ' ', $modules;

write_file('conf/nginx.conf', <<"END");
$load
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$mono;
        location / { return 200 "monolith\\n"; }
    }
    server {
        listen 127.0.0.1:$msgs;
        location / { return 200 "messages\\n"; }
    }
    server {
        listen 127.0.0.1:$front;
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$mono; }
        location \@messages { proxy_pass http://127.0.0.1:$msgs; }
    }
}
END

sub stderr_log {
    open my $fh, '<', "$prefix/logs/stderr.log" or return '';
    local $/;
    return <$fh>;
}

sub get {
    my $res = HTTP::Tiny->new(timeout => 3)
              ->get("http://127.0.0.1:$front/api/conversations/1");
    return $res->{success} ? $res->{content} : "failed: $res->{status}";
}

sub error_log {
    open my $fh, '<', "$prefix/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

# waits until every worker serves the expected backend
# bounds, not timings: a loaded machine (ASan builds, parallel suites) may
# take seconds to reload
sub settles_on {
    my ($want) = @_;
    for (1 .. 300) {
        my $all = 1;
        for (1 .. 10) { $all = 0 if get() ne $want }
        return 1 if $all;
        sleep 0.1;
    }
    return 0;
}

write_file('conf/routes.yaml', table('messages'));
is nginx(), 0, 'nginx starts with a good table';
ok settles_on("messages\n"), 'reads go to messages';

write_file('conf/routes.yaml', table('mesages'));
isnt nginx('-t', '-q'), 0, 'nginx -t rejects the bad table';
isnt nginx('-s', 'reload'), 0,
     'nginx -s reload refuses the bad table before signalling';
like stderr_log(), qr{routes\.yaml:7:12: route "conversations": unknown backend "mesages"},
     'and tells the operator why';

# a SIGHUP straight to the master, as a process manager may send it
open my $pidfh, '<', "$prefix/logs/nginx.pid" or die "pid: $!";
chomp(my $master = <$pidfh>);
close $pidfh;
is kill('HUP', $master), 1, 'SIGHUP sent to the master';

my $seen = 0;
for (1 .. 300) {
    last if $seen = error_log() =~ /route "conversations": unknown backend "mesages"/;
    sleep 0.1;
}
ok $seen, 'the master logs the error';
like error_log(), qr{routes\.yaml:7:12: route "conversations"},
     'the error names the line and column';
ok settles_on("messages\n"), 'the old table keeps serving';

write_file('conf/routes.yaml', table('monolith'));
is nginx('-s', 'reload'), 0, 'reload with a good table';
ok settles_on("monolith\n"), 'the new table takes over';

nginx('-s', 'quit');
for (1 .. 50) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.1 }

done_testing();
