# One decision path: what nginx finds in a request (a sticky key in a
# header, a Cookie header or the query string, the client address, a
# method override, the normalised path) is what `strangler explain`
# finds in the same request written as text.  Every request goes through
# a real nginx, and the route, backend and reason it reports must be what
# the command predicts.
#
# The splits are `{ b: 65535, a: 1 }`: a request whose key is missing
# lands on `b` (65535 times in 65536 when nginx draws at random, always
# for the command, which shows the draw 0), and the keys k129669,
# k154794 and k304961 are among the few that land on `a`.  So a parser
# that finds no key, or another one, gives `b` where nginx gives `a`.
use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $top = abs_path(dirname(__FILE__) . '/..');
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $table = tempdir(CLEANUP => 1) . '/routes.yaml';

open my $fh, '>', $table or die "$table: $!";
print $fh <<'_EOT_';
version: 1
default: monolith
backends: { monolith: {}, a: {}, b: {} }
routes:
  - name: by-header
    paths: ["/h/*"]
    owner: monolith
    reads: { b: 65535, a: 1 }
    sticky: header:X-User
  - name: by-cookie
    paths: ["/c/*"]
    owner: monolith
    reads: { b: 65535, a: 1 }
    sticky: cookie:sid
  - name: by-arg
    paths: ["/q/*"]
    owner: monolith
    reads: { b: 65535, a: 1 }
    sticky: arg:uid
  - name: by-ip
    paths: ["/ip/*"]
    owner: monolith
    reads: { b: 65535, a: 1 }
    sticky: ip
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: b
_EOT_
close $fh;

# [request line, headers ("" for none, "\n" between two)]
our @Requests = (
    # a header: the first one of its name, any case
    ["GET /h/1", "X-User: k129669"],
    ["GET /h/1", "x-user: k154794"],
    ["GET /h/1", "X-User: k129669\nX-User: other"],
    ["GET /h/1", "X-User: other\nX-User: k129669"],
    ["GET /h/1", "X-Users: k129669"],

    # a cookie: any case, spaces around '=', ';' or ',' before it, in
    # any Cookie header; the value runs to ';'
    ["GET /c/1", "Cookie: sid=k129669"],
    ["GET /c/1", "Cookie: SID=k154794"],
    ["GET /c/1", "Cookie: a=1; sid=k304961"],
    ["GET /c/1", "Cookie: a=1;sid=k129669"],
    ["GET /c/1", "Cookie: a=1, sid=k129669"],
    ["GET /c/1", "Cookie: sid = k129669"],
    ["GET /c/1", "Cookie: xsid=k129669; sid=other"],
    ["GET /c/1", "Cookie: xsid=other; sid=k154794"],
    ["GET /c/1", "Cookie: sid=k129669 ; a=1"],
    ["GET /c/1", "Cookie: sid=k129669,a=1"],
    ["GET /c/1", "Cookie: a=1\nCookie: sid=k304961"],
    ["GET /c/1", "cookie: sid=k129669"],
    ["GET /c/1", "Cookie: sidk129669"],
    ["GET /c/1", "X-Cookie: sid=k129669"],

    # an argument: the first one of its name, any case, raw
    ["GET /q/1?uid=k129669", ""],
    ["GET /q/1?a=1&uid=k154794", ""],
    ["GET /q/1?UID=k304961", ""],
    ["GET /q/1?xuid=k129669&uid=other", ""],
    ["GET /q/1?xuid=other&uid=k129669", ""],
    ["GET /q/1?a=uid=k129669", ""],
    ["GET /q/1?uid=k12966%39", ""],
    ["GET /q/1?uid", ""],
    ["GET /q/1?uid=k129669&uid=other", ""],

    # the client address
    ["GET /ip/1", ""],

    # a method override makes a read a write: the owner serves it
    ["GET /h/1", "X-User: k129669\nX-HTTP-Method-Override: DELETE"],
    ["GET /c/1", "Cookie: sid=k129669\nX-HTTP-Method: PUT"],
    ["HEAD /h/1", "X-User: k129669\nX-Method-Override: PATCH"],
    ["GET /q/1?uid=k129669&_method=DELETE", ""],
    ["GET /q/1?uid=k129669&_METHOD=DELETE", ""],
    ["GET /q/1?uid=k129669&x_method=DELETE", ""],
    # its name as frameworks read it: decoded, bracketed, after ';', bare
    ["GET /q/1?uid=k129669&%5Fmethod=DELETE", ""],
    ["GET /q/1?uid=k129669&%5fmethod=DELETE", ""],
    ["GET /q/1?uid=k129669&_method[]=DELETE", ""],
    ["GET /q/1?uid=k129669&_method%5B%5D=DELETE", ""],
    ["GET /q/1?uid=k129669&x=1;_method=DELETE", ""],
    ["GET /q/1?uid=k129669&_method", ""],
    ["GET /q/1?uid=k129669&_methods=DELETE", ""],
    ["GET /q/1?uid=k129669&%255Fmethod=DELETE", ""],
    ["GET /api/conversations/1", "X-HTTP-Method-Override: DELETE"],

    # the path nginx routes
    ["GET /api//conversations/1", ""],
    ["GET /api/./conversations/1", ""],
    ["GET /api/x/../conversations/1", ""],
    ["GET /api/conversations/%31", ""],
    ["GET /api/%2e%2e/api/conversations/1", ""],
    ["GET /api/conversations/1%3Fx?y=1", ""],
    ["GET /api/conversations/1/.", ""],
    ["GET /api/conversations/1/..", ""],
);

# what the command says, as the response headers nginx must send
sub explain {
    my ($request, $headers) = @_;
    my ($method, $uri) = split / /, $request;
    my @args = ($cli, 'explain', $table, $method, $uri, '--ip', '127.0.0.1');
    push @args, map { ('--header', $_) } grep { length } split /\n/, $headers;
    open my $out, '-|', @args or die "cannot run $cli: $!";
    my %f = map { /^(\w+): (.*)$/ ? ($1, $2) : () } <$out>;
    close $out or die "$cli explain $method $uri failed: $?";
    return "X-Route: $f{route}\nX-Backend: $f{backend}\n"
           . "X-Reason: $f{reason}";
}

plan tests => repeat_each() * (@Requests * 5);

no_root_location();

our $HttpConfig = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "backend\n"; }
    }
_EOC_

my $location = <<'_EOC_';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        add_header X-Route $strangler_route;
        add_header X-Backend $strangler_backend;
        add_header X-Reason $strangler_reason;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig);
    $block->set_value("config", <<"_EOC_");
    strangler_routes $table;
    strangler_ambiguous_path normalize;   # "//" and ".." are routed
    location / { strangler; }
    location \@monolith {
$location    }
    location \@a {
$location    }
    location \@b {
$location    }
_EOC_
    $block->set_value("request", [map { $_->[0] } @Requests]);
    $block->set_value("more_headers", [map { $_->[1] } @Requests]);
    $block->set_value("response_headers",
                      [map { explain(@$_) } @Requests]);
});

run_tests();

__DATA__

=== TEST 1: nginx finds in each request what strangler explain finds
--- no_error_log
[error]
