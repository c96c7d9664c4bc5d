# The request explain is told about is read as nginx reads a real one, by
# the API's GET explain and by `strangler explain` alike: a method nginx
# refuses in a request line (such as "get") is refused, the path is
# normalised as nginx normalises the URI before routing, and a method
# override makes a read a write.
use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempfile);

my $top = abs_path(dirname(__FILE__) . '/..');
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $table = "$top/routes/messages-extraction.yaml";

# the command: [arguments, exit status, stdout like, stderr like]
my @Cli = (
    [[qw(get /api/conversations/17)], 2, qr/\A\z/,
     qr/bad METHOD "get": nginx refuses a request line whose method is not /],
    [[qw(Get /api/conversations/17)], 2, qr/\A\z/, qr/bad METHOD "Get"/],
    [[qw(GET1 /api/conversations/17)], 2, qr/\A\z/, qr/bad METHOD "GET1"/],
    [[qw(GET /api//conversations/17)], 0,
     qr{^path: /api/conversations/17\nroute: conversations\n}m, qr/\A\z/],
    [[qw(GET /api/./conversations/%31%37)], 0,
     qr{^path: /api/conversations/17\nroute: conversations\n}m, qr/\A\z/],
    [[qw(GET /api/x/../conversations/17/messages/.)], 0,
     qr{^path: /api/conversations/17/messages/\n}m, qr/\A\z/],
    [[qw(GET /api/../..)], 2, qr/\A\z/,
     qr{bad PATH "/api/\.\./\.\.": "\.\." above the root \(nginx answers 400\)}],
    [[qw(GET /api/%zz)], 2, qr/\A\z/, qr/invalid percent-escape/],
    [[qw(GET /api/conversations/17/messages
         --header X-HTTP-Method-Override:DELETE)],
     0, qr/^write: yes\nmethod_override: header:X-HTTP-Method-Override\n/m,
     qr/\A\z/],
    [[qw(GET /api/conversations/17/messages?_method=PUT)], 0,
     qr/^write: yes\nmethod_override: arg:_method\n/m, qr/\A\z/],
    [[qw(GET /api/conversations/17/messages?x_method=PUT)], 0,
     qr/^write: no\nshadow:/m, qr/\A\z/],
);

repeat_each(1);

plan tests => @Cli * 3 + 42;

my (undef, $errfile) = tempfile(UNLINK => 1);

for my $c (@Cli) {
    my ($args, $status, $out, $err) = @$c;
    my $cmd = join ' ', map { "'$_'" } $cli, 'explain', $table, @$args;
    my $stdout = `$cmd 2>$errfile`;
    my $stderr = do { local (@ARGV, $/) = $errfile; <> };
    is $? >> 8, $status, "strangler explain @$args: exit status";
    like $stdout, $out, "strangler explain @$args: stdout";
    like $stderr, $err, "strangler explain @$args: stderr";
}

no_root_location();
no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", <<'_EOC_');
    strangler_zone strangler 1m;
_EOC_
    $block->set_value("config", <<"_EOC_");
    strangler_routes $table;
    location / { strangler; }
    location \@monolith { return 200 "monolith\\n"; }
    location \@messages_v2 { return 200 "messages\\n"; }
    location /_strangler/ { strangler_api; }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a method nginx refuses is refused
--- request eval
["GET /_strangler/explain?method=get&path=/api/conversations/17",
 "GET /_strangler/explain?method=Post&path=/api/conversations/17",
 "GET /_strangler/explain?method=GET1&path=/api/conversations/17"]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
['"error": "method \\\\"get\\\\": nginx refuses a request line whose '
 . 'method is not upper-case letters',
 '"error": "method \\\\"Post\\\\"', '"error": "method \\\\"GET1\\\\"']
--- no_error_log
[error]



=== TEST 2: the path is normalised as nginx normalises the URI
--- request eval
["GET /_strangler/explain?path=/api//conversations/17",
 "GET /_strangler/explain?path=/api/./conversations/17",
 "GET /_strangler/explain?path=/api/x/../conversations/17",
 "GET /_strangler/explain?path=/api/conversations/%2531%2537",
 "GET /_strangler/explain?path=/api/%252e%252E/api/conversations/17"]
--- response_body_like eval
[('"path": "/api/conversations/17",\s+"route": "conversations",'
  . '\s+"rule": "template",') x 5]
--- no_error_log
[error]



=== TEST 3: a path nginx answers 400 to is refused
--- request eval
["GET /_strangler/explain?path=/api/../..",
 "GET /_strangler/explain?path=/api/%2500",
 "GET /_strangler/explain?path=/api/%25zz"]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
['"error": "path \\\\"/api/../..\\\\": \\\\"..\\\\" above the root '
 . '\(nginx answers 400\)"',
 '"error": "path \\\\"/api/%00\\\\": %00 in the path',
 '"error": "path \\\\"/api/%zz\\\\": an invalid percent-escape']
--- no_error_log
[error]



=== TEST 4: a method override makes a read a write
--- request eval
["GET /_strangler/explain?path=/api/conversations/17/messages"
 . "&header=X-HTTP-Method-Override:DELETE",
 "GET /_strangler/explain?path=/api/conversations/17/messages%3F_method%3DPUT",
 "GET /_strangler/explain?path=/api/conversations/17/messages%3Fx_method=PUT"]
--- response_body_like eval
['"backend": "monolith",.*"write": true,.*'
 . '"method_override": "header:X-HTTP-Method-Override"',
 '"backend": "monolith",.*"write": true,.*"method_override": "arg:_method"',
 '"backend": "messages",.*"write": false,.*"method_override": null']
--- no_error_log
[error]
