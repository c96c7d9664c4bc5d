# `strangler explain` agrees with nginx: every request below goes through a
# real nginx with routes/messages-extraction.yaml, and the route, backend
# and reason nginx reports must be what the command predicts.
use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $top = abs_path(dirname(__FILE__) . '/..');
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $table = "$top/routes/messages-extraction.yaml";

# [request line, extra header or ""]
our @Requests = (
    ["GET /api/conversations", ""],
    ["POST /api/conversations", ""],
    ["GET /api/conversations/17", ""],
    ["DELETE /api/conversations/17", ""],
    ["GET /api/conversations/17?%5Fmethod=DELETE", ""],
    ["GET /api/conversations/17?x=1;_method", ""],
    ["GET /api/conversations/17/messages", ""],
    ["POST /api/conversations/17/messages", ""],
    ["GET /api/conversations/17/messages/99", ""],
    ["PUT /api/conversations/17/messages/99", ""],
    ["GET /api/conversation%73/17/messages", ""],
    ["GET /api/conversations/17/../18/messages", ""],
    ["GET /api/users/42/inbox", "X-User-Id: 6"],
    ["GET /api/users/42/inbox", "X-User-Id: 1"],
    ["HEAD /api/users/42/inbox/unread", "X-User-Id: 6"],
    ["POST /api/users/42/inbox", "X-User-Id: 6"],
    ["GET /api/users/x/inbox", ""],
    ["GET /api/messages/search?q=hello", ""],
    ["POST /api/messages/search", ""],
    ["GET /api/drafts/3", ""],
    ["PUT /api/drafts/3", ""],
    ["GET /api/attachments/a/b/c.png", ""],
    ["GET /api/attachments", ""],
    ["GET /", ""],
    ["OPTIONS /api/conversations/5", ""],
    ["PATCH /healthz", ""],
);

# what the command says, as the response headers nginx must send
sub explain {
    my ($request, $header) = @_;
    my ($method, $uri) = split / /, $request;
    my @args = ($cli, 'explain', $table, $method, $uri);
    push @args, '--header', $header =~ s/: /:/r if $header;
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
        location / { return 200 "monolith\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages\n"; }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig);
    $block->set_value("config", <<"_EOC_");
    strangler_routes $table;
    strangler_ambiguous_path normalize;   # /17/../18 is routed, not refused
    location / { strangler; }
    location \@monolith {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_RAND_PORT_1;
        add_header X-Route \$strangler_route;
        add_header X-Backend \$strangler_backend;
        add_header X-Reason \$strangler_reason;
    }
    location \@messages_v2 {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_RAND_PORT_2;
        add_header X-Route \$strangler_route;
        add_header X-Backend \$strangler_backend;
        add_header X-Reason \$strangler_reason;
    }
_EOC_
    $block->set_value("request", [map { $_->[0] } @Requests]);
    $block->set_value("more_headers", [map { $_->[1] } @Requests]);
    $block->set_value("response_headers",
                      [map { explain(@$_) } @Requests]);
});

run_tests();

__DATA__

=== TEST 1: every request lands where strangler explain says
--- no_error_log
[error]
