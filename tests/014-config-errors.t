# A bad route table fails `nginx -t`, naming file, line, column and what
# was expected.  One block per error.
use Test::Nginx::Socket;

plan tests => repeat_each() * 55;

no_root_location();

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200 "monolith\n"; }
    location @messages { return 200 "messages\n"; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("config", $Front) unless $block->config;
});

run_tests();

__DATA__

=== TEST 1: a route naming an unknown backend
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: [/a]
    reads: mesages
--- must_die
--- error_log
routes.yaml:7:12: route "conversations": unknown backend "mesages"


=== TEST 2: an unknown key
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    color: red
--- must_die
--- error_log
routes.yaml:7:5: unknown key "color" in route "a"


=== TEST 3: a wrong type
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: /a
--- must_die
--- error_log
routes.yaml:6:12: route "a": "paths" must be a non-empty list of paths


=== TEST 4: a duplicate route name
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
  - name: a
    paths: [/b]
--- must_die
--- error_log
routes.yaml:7:11: duplicate route name "a" (first at line 5)


=== TEST 5: two routes claiming one method on one template
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: ["/a/{id}"]
    methods: [GET]
  - name: b
    paths: ["/a/{x}"]
    methods: [GET]
--- must_die
--- error_log
routes.yaml:9:13: route "b": GET on "/a/{x}" is already claimed by route "a" (line 5)


=== TEST 6: two routes claiming one exact path
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    methods: [GET, POST]
  - name: b
    paths: [/a]
    methods: [DELETE, POST]
--- must_die
--- error_log
route "b": POST on "/a" is already claimed by route "a"


=== TEST 7: a bad regex
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: ["~ ^/a/(x"]
--- must_die
--- error_log
routes.yaml:6:22: route "a": bad path "~ ^/a/(x": missing closing parenthesis


=== TEST 8: a bad path
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: ["/a/*/b"]
--- must_die
--- error_log
route "a": bad path "/a/*/b": "*" is allowed only as the last segment


=== TEST 9: a weight that is not a positive integer
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: { messages: 0, monolith: 2 }
--- must_die
--- error_log
routes.yaml:7:24: route "a": weights must be positive integers, got "0"


=== TEST 10: shadowing writes for real
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    shadow: { writes: on }
--- must_die
--- error_log
routes.yaml:8:23: route "a": shadow.writes must be "off" or "dry-run": writes go to the owner only


=== TEST 11: dry-run writes without the header
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    shadow: { writes: dry-run }
--- must_die
--- error_log
routes.yaml:8:23: route "a": shadow.writes: dry-run needs shadow.dry_run_header


=== TEST 12: a bad sample
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    shadow: { sample: 150 }
--- must_die
--- error_log
route "a": shadow.sample must be a percentage from 0 to 100


=== TEST 13: bad YAML
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a
--- must_die
--- error_log
routes.yaml:7:1: YAML: did not find expected ',' or ']'


=== TEST 14: an unsupported version
--- user_files
>>> routes.yaml
version: 2
default: monolith
backends: { monolith: {} }
--- must_die
--- error_log
routes.yaml:1:10: unsupported version "2", expected 1


=== TEST 15: a bad sticky key
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    sticky: body:x
--- must_die
--- error_log
routes.yaml:7:13: route "a": "sticky" must be header:NAME, cookie:NAME, arg:NAME or ip


=== TEST 16: an unknown method
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    methods: [FETCH]
--- must_die
--- error_log
routes.yaml:7:15: route "a": unknown method "FETCH"


=== TEST 17: a bad route name
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: A!
    paths: [/a]
--- must_die
--- error_log
routes.yaml:5:11: bad route name "A!": expected [a-z0-9_-]+


=== TEST 18: an unknown default
--- user_files
>>> routes.yaml
version: 1
default: nosuch
backends: { monolith: {} }
--- must_die
--- error_log
routes.yaml:2:10: "default": unknown backend "nosuch"


=== TEST 19: a backend without its location in the server
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {}, billing: {} }
--- must_die
--- error_log
routes.yaml:3:41: backend "billing" has no location "@billing" in the server of "strangler"


=== TEST 20: strangler without a route table
--- config
    location / { strangler; }
--- must_die
--- error_log
"strangler" needs a route table: no "strangler_routes" applies to it in



=== TEST 21: a missing route table file
--- config
    strangler_routes ../html/nosuch.yaml;
    location / { strangler; }
--- must_die
--- error_log eval
qr{nosuch\.yaml: cannot open: No such file or directory}



=== TEST 22: errors are all reported, not just the first
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: nosuch1
  - name: b
    paths: [/b]
    owner: nosuch2
--- must_die
--- error_log
route "a": unknown backend "nosuch1"
route "b": unknown backend "nosuch2"


=== TEST 23: a route named "-", the default route's name
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: "-"
    paths: [/a]
--- must_die
--- error_log
routes.yaml:5:11: route name "-" is the name of the default route (requests no route matches)



=== TEST 24: a dry-run marker the proxy removes: the copy would go unmarked
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    shadow: { writes: dry-run, dry_run_header: Connection }
--- must_die
--- error_log
routes.yaml:8:48: route "a": shadow.dry_run_header "Connection" is a hop-by-hop header: proxies remove it, and a write copy would arrive unmarked; use a name of your own, such as X-Dry-Run



=== TEST 25: a dry-run marker the proxy rewrites
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    shadow:
      writes: dry-run
      dry_run_header: host
--- must_die
--- error_log
routes.yaml:10:23: route "a": shadow.dry_run_header "host" is set or removed by nginx's proxy module: a write copy would arrive unmarked; use a name of your own, such as X-Dry-Run



=== TEST 26: a handoff with a bad drain and hold
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    handoff: { drain: 5 seconds, hold: -1 }
--- must_die
--- error_log
routes.yaml:7:23: route "a": handoff.drain must be a duration from 1ms to 10m, such as 5s



=== TEST 27: strangler_handoff with an unknown parameter
--- http_config
strangler_handoff drain=2s wait=1;
--- must_die
--- error_log
strangler_handoff: unknown parameter "wait=1": use drain=5s and hold=1024
