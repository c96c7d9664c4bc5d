# The history of changes across `nginx -s reload` and restarts: kept in
# the zone and in STATE.history (JSONL), bounded to the last 256 entries,
# paged with limit/before, reasons and authors kept.  Plain Test::More,
# like 043-reload-state.t, whose set-up it repeats: Test::Nginx restarts
# nginx for every block, and this needs one nginx across reloads.
use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $prefix = tempdir(CLEANUP => 1);

mkdir "$prefix/$_" for qw(conf logs state);
chmod 0777, "$prefix/state";    # workers may run as another user

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

my ($front, $mono, $msgs) = (free_port(), free_port(), free_port());

sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$prefix/$name" or die "$name: $!";
    print $fh $text;
    close $fh;
}

sub read_file {
    my ($name) = @_;
    open my $fh, '<', "$prefix/$name" or return '';
    local $/;
    return <$fh>;
}

# the table: conversations, then the routes named
sub table {
    my @extra = @_;
    my $routes = join '', map { <<"END" } @extra;
  - name: $_
    paths: ["/api/$_/*"]
    owner: monolith
    reads: messages
END
    return <<"END";
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
$routes
END
}

sub config {
    my ($zone_size) = @_;
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    write_file('conf/nginx.conf', <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 64; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler $zone_size;
    strangler_state state/strangler.state;
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
        location /_strangler/ { strangler_api; }
    }
}
END
}

# runs the nginx binary; what it prints goes to logs/stderr.log
sub nginx {
    my @args = @_;
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$prefix/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf', @args);
    open STDERR, '>&', $saved or die $!;
    return $rc;
}

sub stop {
    nginx('-s', 'quit');
    for (1 .. 100) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.05 }
}

sub reload {
    my $rc = nginx('-s', 'reload');
    sleep 0.5;      # the new workers start, the old ones leave
    return $rc;
}

my $http = HTTP::Tiny->new(timeout => 3);

sub call {
    my ($method, $path, $body) = @_;
    return $http->request($method, "http://127.0.0.1:$front$path",
                          defined $body ? { content => $body } : {});
}

sub api_json {
    my ($method, $path, $body) = @_;
    my $res = call($method, "/_strangler/$path", $body);
    return eval { decode_json($res->{content}) }
           // { status => $res->{status} };
}


sub history {
    my ($query) = @_;
    return api_json('GET', 'history' . ($query // ''));
}

write_file('conf/routes.yaml', table('items'));
config('1m');
is nginx(), 0, 'nginx starts';

my $res = call('PUT', '/_strangler/routes/conversations',
               '{"reads": "monolith", "reason": "INC-1 before the reload"}');
is $res->{status}, 200, 'a change with a reason';
$res = call('POST', '/_strangler/routes/items/rollback?reason=INC-2');
is $res->{status}, 200, 'a rollback with ?reason=';

my $h = history();
is scalar @{ $h->{history} }, 2, 'the history has both';
is $h->{history}[0]{reason}, 'INC-2', '... newest first';
is $h->{history}[1]{reason}, 'INC-1 before the reload', '... then the first';
is $h->{history}[1]{by}, '127.0.0.1', '... with who';
for (1 .. 50) { last if read_file('state/strangler.state.history') =~ /INC-2/;
                sleep 0.05 }
my @lines = split /\n/, read_file('state/strangler.state.history');
is scalar @lines, 2, 'STATE.history holds one JSON line per change';
is decode_json($lines[0])->{reason}, 'INC-1 before the reload',
   '... oldest first';

is reload(), 0, 'nginx reloads';
$h = history();
is scalar @{ $h->{history} }, 2, 'a reload keeps the history';
is api_json('GET', 'routes/conversations')->{override}{reason},
   'INC-1 before the reload', '... and the override keeps its reason';

stop();
is nginx(), 0, 'nginx restarts';
$h = history();
is scalar @{ $h->{history} }, 2, 'a restart keeps the history';
is $h->{history}[0]{reason}, 'INC-2', '... in order';
is api_json('GET', 'routes/items')->{override}{reason}, 'INC-2',
   '... and the override keeps its reason';
is api_json('GET', 'routes/items')->{override}{via}, 'api',
   '... and through what';

$res = call('DELETE', '/_strangler/routes/items');
is $res->{status}, 200, 'a change after the restart';
is history()->{history}[0]{id}, 3, '... numbered after the ones kept';

# bounded: 300 more changes keep the newest 256
# (a 503 "another change is being written" on a busy machine: again)
my $refused = 0;
for my $i (1 .. 300) {
    my $r = $i % 2 ? 'monolith' : 'messages';
    for (1 .. 5) {
        last if call('PUT', '/_strangler/routes/conversations',
                     qq({"reads": "$r", "reason": "n$i"}))->{status} == 200;
        $refused++;
    }
}
diag "changes refused and made again: $refused" if $refused;
$h = history('?limit=256');
is scalar @{ $h->{history} }, 256, 'the history keeps 256 entries';
is $h->{history}[0]{reason}, 'n300', '... the newest';
is $h->{next}, undef, '... and no more';
my $oldest = $h->{history}[255]{id};
is $oldest, $h->{history}[0]{id} - 255, '... the oldest dropped first';

# pages of 100: every entry once
my (%seen, $before, $pages);
while (1) {
    $h = history('?limit=100' . ($before ? "&before=$before" : ''));
    $seen{ $_->{id} }++ for @{ $h->{history} };
    $pages++;
    last unless $h->{next};
    $before = $h->{next};
}
is $pages, 3, 'three pages of 100';
is scalar(keys %seen), 256, '... every entry once';
ok !(grep { $_ != 1 } values %seen), '... none twice';

for (1 .. 50) {
    my @l = split /\n/, read_file('state/strangler.state.history');
    last if @l == 256 && $l[-1] =~ /n300/;
    sleep 0.05;
}
@lines = split /\n/, read_file('state/strangler.state.history');
is scalar @lines, 256, 'the file is bounded too';

stop();
is nginx(), 0, 'nginx restarts';
$h = history('?route=conversations&limit=1');
is $h->{history}[0]{reason}, 'n300', 'the newest survives';
is history('?limit=256')->{history}[255]{id}, $oldest, '... and the oldest';

# a broken line in the file is left out, with a warning
stop();
write_file('state/strangler.state.history',
           read_file('state/strangler.state.history') . "not json\n");
is nginx(), 0, 'nginx starts with a broken line in the history';
like read_file('logs/error.log'), qr/1 lines of ".*history" are not history/,
     '... and says so';
is scalar @{ history('?limit=256')->{history} }, 256, '... keeping the rest';

stop();
done_testing;
