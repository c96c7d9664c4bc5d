# The README's walkthrough, run.  Every `$ command` of the ```sh blocks
# under "## Walkthrough" runs against the demo of `make demo` (mk/demo.sh,
# on free ports, in a scratch directory laid out like the repository), and
# the output lines shown under it must appear in that order (a line may
# hold `...` for anything; a line of `...` alone only marks a gap).  Also:
# the route excerpts are valid parts of routes/demo.yaml, the Test::Nginx
# example is run by the walkthrough's `prove`, and the Docker route's
# configs (docker/*.conf) serve the same demo.  Plain Test::More: one
# nginx for the whole walkthrough, whose steps build on each other.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

my $top = abs_path("$FindBin::Bin/..");
my ($module) = split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";

plan skip_all => 'the walkthrough loads the dynamic module: '
               . 'TEST_NGINX_LOAD_MODULES is not set'
    unless $module;

$ENV{PATH} = "/usr/sbin:$ENV{PATH}";

my $tmp = tempdir(CLEANUP => 1);
chmod 0755, $tmp;       # the demo's workers may run as nobody


sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return <$fh>;
}

sub spew {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
}

sub port_free {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => $port, ReuseAddr => 1);
    return $s ? (close($s), 1) : 0;
}

# a base port with the next `$n - 1` free too
sub free_ports {
    my ($n) = @_;
    for (1 .. 200) {
        my $base = 20000 + int(rand(40000));
        return $base if !grep { !port_free($base + $_) } 0 .. $n - 1;
    }
    die "no $n free ports in a row";
}

sub wait_port {
    my ($port) = @_;
    for (1 .. 100) {
        return 1 if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        sleep 0.1;
    }
    return 0;
}


# the README's walkthrough: its shell steps and its code blocks ------------

my $readme = slurp("$top/README.md");
my ($walk) = $readme =~ /^## Walkthrough[^\n]*\n(.*?)(?=^## )/ms;
ok($walk, 'README has a "## Walkthrough" section')
    or BAIL_OUT('no walkthrough');

my (@steps, %blocks);
while ($walk =~ /^```(\w+)\n(.*?)^```$/msg) {
    my ($lang, $body) = ($1, $2);
    push @{ $blocks{$lang} }, $body;
    next unless $lang eq 'sh';

    my $step;
    for my $line (split /\n/, $body) {
        if ($step && $step->{cmd} =~ /\\$/ && !@{ $step->{want} }) {
            $step->{cmd} .= "\n$line";
        } elsif ($line =~ /^\$ (.*)/) {
            push @steps, $step = { cmd => $1, want => [] };
        } elsif ($step) {
            push @{ $step->{want} }, $line;
        }
    }
}

ok(@steps >= 10, scalar(@steps) . ' walkthrough commands');
is($steps[0]{cmd}, 'make demo', 'the walkthrough starts with `make demo`');


# the route excerpt (step 2) is routes/demo.yaml's; the "permanent" change
# (step 6) is a valid table that does what the README says

my $demo_yaml = slurp("$top/routes/demo.yaml");
my ($excerpt, $final) = @{ $blocks{yaml} || [] };

ok(index($demo_yaml, $excerpt) >= 0,
   'the inbox route shown is the one in routes/demo.yaml')
    or diag($excerpt);

(my $changed = $demo_yaml) =~ s/\Q$excerpt\E/$final/;
spew("$tmp/final.yaml", $changed);

my $check = `$cli check $tmp/final.yaml 2>&1`;
is($?, 0, 'the table with the inbox moved is valid') or diag($check);
like(`$cli explain $tmp/final.yaml GET /api/users/7/inbox`,
     qr/^backend: messages\n.*^shadow: monolith$/ms,
     'in it, messages serves the inbox reads, the monolith gets the copies');


# the scratch directory: build/, routes/, tests/ and t/ as the commands
# expect them (the demo's prefix is build/demo)

mkdir "$tmp/$_" for qw(build t);
chmod 0755, "$tmp/build";
symlink $cli, "$tmp/build/strangler" or die $!;
symlink $module, "$tmp/build/ngx_http_strangler_module.so" or die $!;
symlink "$top/$_", "$tmp/$_" or die $! for qw(routes tests);

my @perl = @{ $blocks{perl} || [] };
is(scalar @perl, 1, 'one Test::Nginx example');
spew("$tmp/t/inbox.t", $perl[0] // '');

my $port = free_ports(3);
my $demo;

END {
    if ($demo) {
        kill 'TERM', $demo;
        waitpid $demo, 0;
    }
}

sub start_demo {
    $demo = fork // die "fork: $!";
    if ($demo == 0) {
        open STDOUT, '>', "$tmp/demo.out";
        open STDERR, '>&', \*STDOUT;
        $ENV{DEMO_PORT} = $port;
        $ENV{DEMO_PREFIX} = "$tmp/build/demo";
        $ENV{NGINX} = $nginx;
        exec "$top/mk/demo.sh", $module or die "exec: $!";
    }
    ok(wait_port($port), "the demo serves on $port")
        or diag(slurp("$tmp/demo.out"));
}

# the output lines wanted, in order, as regexes
sub matches {
    my ($out, @want) = @_;
    my @got = split /\n/, $out;
    for my $w (grep { $_ ne '...' } @want) {
        my $re = join '.*', map { quotemeta } split /\.\.\./, $w, -1;
        shift @got while @got && $got[0] !~ /^$re$/;
        return 0 unless @got;
        shift @got;
    }
    return 1;
}

# commands that only read may be retried: the diff log is written every
# second, the shadow counters move when the copy's answer is in
sub read_only {
    my ($cmd) = @_;
    return $cmd =~ /^(tail|cat|grep) / || $cmd =~ m{/_strangler/metrics};
}

local $ENV{TEST_NGINX_SERVER_PORT} = free_ports(1);
local $ENV{TEST_NGINX_SERVROOT} = "$tmp/servroot";

for my $step (@steps) {
    my $cmd = $step->{cmd};

    if ($cmd eq 'make demo') {
        start_demo();
        next;
    }

    (my $run = $cmd) =~ s/localhost:8080/localhost:$port/g;
    my ($out, $ok);

    for my $try (1 .. 50) {
        open my $fh, '-|', 'bash', '-c', "cd $tmp && { $run\n} 2>&1"
            or die "bash: $!";
        $out = do { local $/; <$fh> } // '';
        close $fh;
        $ok = matches($out, @{ $step->{want} });
        last if $ok || !read_only($cmd);
        sleep 0.1;
    }

    # a command shown without output must at least succeed
    $ok &&= $? == 0 unless @{ $step->{want} };

    (my $name = $cmd) =~ s/\s*\\\n\s*/ /g;
    ok($ok, "README: \$ $name")
        or diag("got:\n$out\nwanted:\n" . join("\n", @{ $step->{want} }));
}

ok(kill(0, $demo) && waitpid($demo, WNOHANG) == 0, 'the demo still runs');
unlike(slurp("$tmp/build/demo/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert in the demo\'s error log');


# the Docker route: docker/strangler.conf in front of docker/monolith.conf
# and docker/messages.conf, with the compose services' names and the
# container paths replaced by local ones ------------------------------------

my $compose = slurp("$top/docker/compose.yaml");
my $front = slurp("$top/docker/strangler.conf");

like($compose, qr/^\s+- "127\.0\.0\.1:8081:8081"/m,
     'compose publishes the API port on localhost only');
like($compose, qr{^\s+- \.\./routes:/etc/nginx/routes:ro$}m,
     'compose mounts routes/');
like($front, qr{^strangler_routes\s+/etc/nginx/routes/demo\.yaml;$}m,
     'the image serves routes/demo.yaml');

my $d = "$tmp/docker";
mkdir $_ for $d, "$d/conf", "$d/logs", "$d/state";
chmod 0777, "$d/state";
chmod 0755, $d;

my $p = free_ports(4);
my %listen = (front => $p, monolith => $p + 1, messages => $p + 2,
              api => $p + 3);

$front =~ s/\b(monolith|messages):8080\b/127.0.0.1:$listen{$1}/g;
$front =~ s/listen 8080;/listen 127.0.0.1:$listen{front};/;
$front =~ s/listen 8081;/listen 127.0.0.1:$listen{api};/;
$front =~ s{/etc/nginx/routes/}{$top/routes/}g;
$front =~ s{/var/lib/strangler/}{$d/state/}g;
$front =~ s{/var/log/nginx/}{$d/logs/}g;
spew("$d/conf/front.conf", $front);

for my $svc (qw(monolith messages)) {
    (my $conf = slurp("$top/docker/$svc.conf"))
        =~ s/listen 8080;/listen 127.0.0.1:$listen{$svc};/;
    spew("$d/conf/$svc.conf", $conf);
}

spew("$d/conf/nginx.conf", <<"END");
load_module $module;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 64; }
http {
    include front.conf;
    include monolith.conf;
    include messages.conf;
}
END

my @ctl = ($nginx, '-p', "$d/", '-c', 'conf/nginx.conf');
is(system(@ctl), 0, 'the Docker configs start');
wait_port($listen{front});

my $http = HTTP::Tiny->new(timeout => 5);
my $base = "http://127.0.0.1:$listen{front}";
my $api = "http://127.0.0.1:$listen{api}/_strangler";

like($http->get("$base/api/users/7/inbox")->{content},
     qr/"served_by":"monolith"/, 'docker: the monolith serves the inbox');
like($http->get("$base/api/conversations/42")->{content},
     qr/"served_by":"messages"/, 'docker: messages serves conversations');
like($http->get("$base/_strangler/status")->{content},
     qr/"served_by":"monolith"/, 'docker: no API on the traffic port');
is($http->put("$api/routes/inbox",
              { content => '{"reads": "messages"}' })->{status},
   200, 'docker: the API on its own port');
like($http->get("$base/api/users/7/inbox")->{content},
     qr/"served_by":"messages"/, 'docker: the override applies');
ok(-s "$d/state/strangler.state", 'docker: the state file is written');

qx(@ctl -s stop 2>&1);
unlike(slurp("$d/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'docker: no alert in the error log');

done_testing();
