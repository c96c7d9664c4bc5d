# strangler_etcd over TLS, with etcd's user authentication, against a real
# etcd on loopback started with --cert-file/--key-file/--client-cert-auth
# and https client URLs.  The certificates are made here with openssl.  A
# wrong CA, a missing client certificate and a wrong password each leave
# the host not connected, with the reason in its status and in the error
# log; never a call in clear text.  Plain Test::More, like 080-fleet.t.
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

$SIG{ALRM} = sub { die "083-fleet-tls.t: timed out\n" };
alarm 240;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
my $etcdctl = $ENV{ETCDCTL_BINARY} || '/usr/bin/etcdctl';
plan skip_all => "no $etcd_bin or $etcdctl (apt-get install etcd-server "
                 . "etcd-client)"
    unless -x $etcd_bin && -x $etcdctl;
plan skip_all => 'no openssl' if system('openssl version >/dev/null 2>&1');

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = tempdir('fleet-tls-XXXX', DIR => $servroot, CLEANUP => 1);
$root = File::Spec->rel2abs($root);
my $http = HTTP::Tiny->new(timeout => 5);

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return <$fh>;
}

sub eventually {
    my ($cond, $secs) = @_;
    my $end = time + ($secs || 10);
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return $cond->() ? 1 : 0;
}

# runs a command (a list: no shell), its output and status
sub run_quiet {
    my (@cmd) = @_;
    my $pid = open(my $fh, '-|') // die $!;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT or die $!;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

# -- certificates ----------------------------------------------------------

my $pki = "$root/pki";
make_path($pki);

sub openssl {
    my ($rc, $out) = run_quiet('openssl', @_);
    die "openssl @_: $out" if $rc;
}

sub make_ca {
    my ($name) = @_;
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', 2,
            '-keyout', "$pki/$name.key", '-out', "$pki/$name.pem",
            '-subj', "/CN=strangler test $name");
}

# a key and a certificate signed by $ca; $ext: the extensions
sub make_cert {
    my ($name, $ca, $subj, $ext) = @_;
    write_file("$pki/$name.ext", $ext);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout',
            "$pki/$name.key", '-out', "$pki/$name.csr", '-subj', $subj);
    openssl('x509', '-req', '-in', "$pki/$name.csr", '-CA', "$pki/$ca.pem",
            '-CAkey', "$pki/$ca.key", '-CAcreateserial', '-days', 2,
            '-out', "$pki/$name.pem", '-extfile', "$pki/$name.ext");
}

make_ca('ca');
make_ca('other-ca');
# etcd's gateway calls etcd itself with the server certificate
make_cert('server', 'ca', '/CN=etcd',
          "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
          . "extendedKeyUsage=serverAuth,clientAuth\n");
# no CN: with users on, etcd's gateway refuses a client certificate's CN
make_cert('client', 'ca', '/O=strangler', "extendedKeyUsage=clientAuth\n");

# -- etcd ------------------------------------------------------------------

my %etcd = (client => free_port(), peer => free_port(),
            dir => "$root/etcd");

sub etcd_start {
    my $pid = fork // die $!;
    if ($pid == 0) {
        open STDOUT, '>>', "$root/etcd.log" or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
        exec $etcd_bin, '--name', 'tls', '--data-dir', $etcd{dir},
            '--listen-client-urls', "https://127.0.0.1:$etcd{client}",
            '--advertise-client-urls', "https://127.0.0.1:$etcd{client}",
            '--listen-peer-urls', "http://127.0.0.1:$etcd{peer}",
            '--initial-advertise-peer-urls', "http://127.0.0.1:$etcd{peer}",
            '--initial-cluster', "tls=http://127.0.0.1:$etcd{peer}",
            '--cert-file', "$pki/server.pem", '--key-file',
            "$pki/server.key", '--client-cert-auth', '--trusted-ca-file',
            "$pki/ca.pem",
            # tokens expire after 2 s unused: the renewal is tested
            '--auth-token-ttl', 2,
            '--heartbeat-interval', 50, '--election-timeout', 500;
        die "exec $etcd_bin: $!";
    }
    $etcd{pid} = $pid;
}

my @auth;   # --user once users are on

sub etcdctl {
    return run_quiet($etcdctl, '--endpoints',
                     "https://127.0.0.1:$etcd{client}", '--cacert',
                     "$pki/ca.pem", '--cert', "$pki/client.pem", '--key',
                     "$pki/client.key", '--dial-timeout', '2s', @auth, @_);
}

my $url = "https://127.0.0.1:$etcd{client}";

# -- nginx hosts -------------------------------------------------------------

my %host;

sub host_config {
    my ($name, $tls, $workers) = @_;
    my $h = $host{$name} ||= { dir => "$root/nginx-$name",
                               front => free_port(), mono => free_port(),
                               msgs => free_port() };
    make_path("$h->{dir}/$_") for qw(conf logs);
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    $workers ||= 2;
    write_file("$h->{dir}/conf/routes.yaml", <<'END');
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: monolith
END
    write_file("$h->{dir}/conf/nginx.conf", <<"END");
$load
$user
master_process on;
worker_processes $workers;
daemon on;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 128; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler 1m;
    strangler_etcd $url;
$tls
    server {
        listen 127.0.0.1:$h->{mono};
        location / { return 200 "monolith\\n"; }
    }
    server {
        listen 127.0.0.1:$h->{msgs};
        location / { return 200 "messages\\n"; }
    }
    server {
        listen 127.0.0.1:$h->{front};
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$h->{mono}; }
        location \@messages { proxy_pass http://127.0.0.1:$h->{msgs}; }
        location /_strangler/ { strangler_api; }
    }
}
END
    return $h;
}

sub nginx {
    my ($name, @args) = @_;
    my $dir = $host{$name}{dir};
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$dir/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$dir/", '-c', 'conf/nginx.conf', @args);
    open STDERR, '>&', $saved or die $!;
    return $rc;
}

sub reload {
    my ($name) = @_;
    nginx($name, '-s', 'reload');
    # the new workers say they started; give the old ones time to go
    sleep 1;
}

sub get {
    my ($name) = @_;
    my $res = $http->get("http://127.0.0.1:$host{$name}{front}"
                         . '/api/conversations/1');
    return $res->{status} == 200 ? $res->{content} : "failed $res->{status}";
}

sub serves {
    my ($name, $want) = @_;
    return eventually(sub {
        for (1 .. 4) { return 0 if get($name) ne $want }
        1;
    });
}

sub api {
    my ($name, $method, $path, $body) = @_;
    my $res = $http->request($method, "http://127.0.0.1:$host{$name}{front}"
                             . "/_strangler/$path",
                             defined $body ? { content => $body,
                               headers => { 'Content-Type' =>
                                            'application/json' } } : {});
    my $json = eval { decode_json($res->{content}) } || {};
    return ($res->{status}, $json);
}

sub fleet {
    my (undef, $status) = api($_[0], 'GET', 'status');
    return $status->{fleet} || {};
}

sub connected {
    my ($name, $secs) = @_;
    return eventually(sub { fleet($name)->{connected} }, $secs || 10);
}

sub log_of { read_file("$host{$_[0]}{dir}/logs/error.log") }

END {
    local $?;   # the script's exit status, not nginx's or etcd's
    for my $name (keys %host) {
        nginx($name, '-s', 'stop') if -e "$host{$name}{dir}/logs/nginx.pid";
    }
    if ($etcd{pid}) {
        kill 'KILL', $etcd{pid};
        waitpid $etcd{pid}, 0;
    }
}

my $ca = "strangler_etcd_ssl_trusted_certificate $pki/ca.pem;";
my $cert = "strangler_etcd_ssl_certificate $pki/client.pem;\n"
           . "strangler_etcd_ssl_certificate_key $pki/client.key;";

# -- TLS with a client certificate -------------------------------------------

etcd_start();
ok eventually(sub { (etcdctl('endpoint', 'health'))[0] == 0 }, 20),
    'etcd answers on https:// with client certificates';

host_config('A', "$ca\n$cert", 1);
is nginx('A'), 0, 'host A starts with TLS to etcd';
ok connected('A'), 'host A watches etcd over TLS';
is fleet('A')->{error}, undef, '... and its status has no error';

my ($st, $body) = api('A', 'PUT', 'routes/conversations',
                      '{"reads": "messages"}');
is $st, 200, 'an override through host A';
like((etcdctl('get', '/strangler/routes/conversations'))[1],
     qr/"reads":\s*"messages"/, '... is in etcd');
ok serves('A', "messages\n"), '... and served';

my ($rc, $out) = etcdctl('put', '/strangler/routes/conversations',
                         '{"reads": "monolith"}');
is $rc, 0, 'a change in etcd itself';
ok serves('A', "monolith\n"), '... comes to host A through the TLS watch';

# -- a wrong CA, no client certificate ---------------------------------------

host_config('B', "strangler_etcd_ssl_trusted_certificate $pki/other-ca.pem;"
                 . "\n$cert");
is nginx('B'), 0, 'host B starts, trusting another CA';
ok !connected('B', 3), 'host B does not connect';
like fleet('B')->{error} // '',
     qr/^the certificate of 127\.0\.0\.1:\d+ is not trusted: /,
     '... and its status says why';
like log_of('B'),
     qr/\[error\].*strangler: etcd: the certificate of \S+ is not trusted/,
     '... so does its error log';
($st, $body) = api('B', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 503, 'a change through host B answers 503';
like((etcdctl('get', '/strangler/routes/conversations'))[1],
     qr/"reads":\s*"monolith"/, '... and etcd has not changed');

host_config('C', $ca);
is nginx('C'), 0, 'host C starts without a client certificate';
ok !connected('C', 3), 'host C does not connect';
like fleet('C')->{error} // '',
     qr/^etcd wants a client certificate \(see strangler_etcd_ssl_certif.*alert/,
     '... and its status says why';
like log_of('C'),
     qr/\[error\].*strangler: etcd: .*etcd wants a client certificate/,
     '... so does its error log';

# an expired client certificate: nginx -t warns, etcd refuses it
make_cert('expired', 'ca', '/O=strangler', "extendedKeyUsage=clientAuth\n");
openssl('x509', '-req', '-in', "$pki/expired.csr", '-CA', "$pki/ca.pem",
        '-CAkey', "$pki/ca.key", '-CAcreateserial', '-days', -1,
        '-out', "$pki/expired.pem", '-extfile', "$pki/expired.ext");
host_config('C', "$ca\nstrangler_etcd_ssl_certificate $pki/expired.pem;\n"
                 . "strangler_etcd_ssl_certificate_key $pki/expired.key;");
($rc, $out) = run_quiet($nginx, '-t', '-p', "$host{C}{dir}/", '-c',
                        'conf/nginx.conf');
like $out, qr/\[warn\].*"strangler_etcd_ssl_certificate" "\S+" has expired/,
     'nginx -t warns of an expired client certificate';
reload('C');
ok !connected('C', 3), 'with it, host C does not connect';
like fleet('C')->{error} // '',
     qr/^etcd refused the client certificate \(expired, or not signed by/,
     '... and its status says why';

host_config('B', "strangler_etcd_ssl_verify off;\n$cert");
reload('B');
ok connected('B'), 'with strangler_etcd_ssl_verify off, host B connects';

# -- users -------------------------------------------------------------------

($rc, $out) = etcdctl('user', 'add', 'root', '--new-user-password', 'pw');
is $rc, 0, 'etcd has a root user' or diag $out;
etcdctl('role', 'add', 'root');
etcdctl('user', 'grant-role', 'root', 'root');
($rc, $out) = etcdctl('auth', 'enable');
is $rc, 0, 'and users on' or diag $out;
@auth = ('--user', 'root:pw');

write_file("$root/password", "pw\n");
host_config('A', "$ca\n$cert\nstrangler_etcd_user root;\n"
                 . "strangler_etcd_password_file $root/password;", 1);
reload('A');
ok connected('A'), 'host A, with the password, watches etcd';

($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'an override through host A';
like((etcdctl('get', '/strangler/routes/conversations'))[1],
     qr/"reads":\s*"messages"/, '... is in etcd');
ok serves('A', "messages\n"), '... and served';

# users off and on again: etcd forgets every token it gave (the watcher's
# reads every 2 s keep the token from expiring unused)
($rc, $out) = etcdctl('auth', 'disable');
is $rc, 0, 'users off' or diag $out;
($rc, $out) = etcdctl('auth', 'enable');
is $rc, 0, '... and on: the host\'s token is gone' or diag $out;
($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "monolith"}');
is $st, 200, 'a change after the token expired';
like log_of('A'), qr/refused the auth token: renewing it/,
     '... renewed the token';
ok serves('A', "monolith\n"), '... and is served';

# etcd restarted: it knows no token; the watch, refused, renews its own
my $renewals = () = log_of('A') =~ /refused the auth token/g;
kill 'TERM', $etcd{pid};
waitpid $etcd{pid}, 0;
ok eventually(sub { !fleet('A')->{connected} }), 'etcd stopped: host A knows';
etcd_start();
ok connected('A', 20), 'etcd back: host A watches again';
ok eventually(sub {
        my $n = () = log_of('A') =~ /refused the auth token/g;
        $n > $renewals;
    }), '... with a renewed token';
unlike log_of('A'), qr/watch was cancelled/, '... not a cancelled watch';
($rc) = etcdctl('put', '/strangler/routes/conversations',
                '{"reads": "messages"}');
is $rc, 0, 'a change in etcd itself';
ok serves('A', "messages\n"), '... reaches host A';
($rc) = etcdctl('put', '/strangler/routes/conversations',
                '{"reads": "monolith"}');

host_config('D', "$ca\n$cert\nstrangler_etcd_user root;\n"
                 . "strangler_etcd_password wrong;");
is nginx('D'), 0, 'host D starts with a wrong password';
ok !connected('D', 3), 'host D does not connect';
my $why = fleet('D')->{error} // '';
like $why, qr/^authentication of user "root" at 127\.0\.0\.1:\d+ failed: /,
     '... and its status says why';
like $why, qr/: etcdserver: authentication failed, invalid user ID or/,
     "... in etcd's words";
like log_of('D'),
     qr/\[error\].*strangler: etcd: authentication of user "root" at /,
     '... so does its error log';
my $answer;
($st, $answer) = api('D', 'PUT', 'routes/conversations',
                     '{"reads": "messages"}');
is $st, 503, 'a change through host D is refused';
is $answer->{outcome}, 'unchanged', '... and says nothing changed'
    or diag explain $answer;
like((etcdctl('get', '/strangler/routes/conversations'))[1],
     qr/"reads":\s*"monolith"/, '... and etcd has not changed');

# host B has no user: its new watch is refused, nothing is read
reload('B');
ok !connected('B', 3), 'host B, without a user, does not connect';
like fleet('B')->{error} // '', qr/permission denied|user name is empty/,
     '... and its status says why';

for my $name (qw(A B C D)) {
    unlike log_of($name), qr/\[(crit|alert|emerg)\]/, "host $name: no crit";
}

done_testing();
