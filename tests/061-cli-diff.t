# `strangler diff`: a pair of tables per kind of change (tests/cli/diff/,
# each a change of base.yaml), the exact lines a reviewer reads, the JSON,
# and diff(1)'s exit status: 0 no change, 1 changes, 2 trouble.  The
# precedence case: a new regex takes the writes of an old template, and
# part of an old prefix.  Plain Test::More.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Open3 qw(open3);
use JSON::PP qw(decode_json);
use Symbol qw(gensym);

my $top = abs_path(dirname(__FILE__) . '/..');
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";

chdir "$top/tests/cli/diff" or die "tests/cli/diff: $!";

sub run {
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, @_);
    close $in;
    my $stdout = do { local $/; <$out> } // '';
    my $stderr = do { local $/; <$err> } // '';
    waitpid $pid, 0;
    return ($? >> 8, $stdout, $stderr);
}

# NEW => the output of `strangler diff base.yaml NEW`
my %want = (
    'same.yaml' => <<'END',
no change
END
    'owner.yaml' => <<'END',
! owner writes /api/conversations, /api/conversations/{id} (route conversations): monolith -> messages
1 change: 1 owner (1 moves writes)
END
    'reads.yaml' => <<'END',
~ reads /api/conversations, /api/conversations/{id} (route conversations): messages -> monolith
1 change: 1 reads
END
    'split.yaml' => <<'END',
~ reads (GET) /api/search (route search): messages=20 monolith=80 (sticky header:X-User-Id) -> messages=50 monolith=50 (sticky header:X-User-Id)
1 change: 1 reads
END
    'shadow.yaml' => <<'END',
~ shadow reads /api/users/{id}/inbox (route inbox): to messages, 10%, json -> to messages, 50%, json
1 change: 1 shadow
END
    'added.yaml' => <<'END',
! > POST /api/drafts: no route -> /api/drafts (route drafts): monolith -> messages
+ /api/drafts (route drafts): reads messages; writes messages
> GET /api/drafts: no route -> /api/drafts (route drafts): monolith -> messages
3 changes: 1 added, 2 precedence (1 moves writes)
END
    'removed.yaml' => <<'END',
- /api/files/* (route files): reads monolith; writes monolith
1 change: 1 removed
END
    'precedence.yaml' => <<'END',
! > POST /api/users/1/inbox: /api/users/{id}/inbox (route inbox) -> ~ ^/api/users/[0-9]+/inbox$ (route inbox-writes): monolith -> messages
+ ~ ^/api/files/[0-9]+$ (route file-ids): reads messages; writes monolith
+ ~ ^/api/users/[0-9]+/inbox$ (route inbox-writes): reads messages; writes messages
- /api/users/{id}/inbox (all but GET, HEAD) (route inbox): reads monolith; shadow to messages, 10%, json; writes monolith
> GET /api/files/1: /api/files/* (route files) -> ~ ^/api/files/[0-9]+$ (route file-ids): monolith -> messages
> POST /api/files/1: /api/files/* (route files) -> ~ ^/api/files/[0-9]+$ (route file-ids): monolith -> monolith
6 changes: 2 added, 1 removed, 3 precedence (1 moves writes)
END
    'route.yaml' => <<'END',
~ route /api/files/*: files -> blobs
1 change: 1 route
END
    'backend.yaml' => <<'END',
~ backend messages: @messages -> @messages_v2
~ backend search: none -> @search
2 changes: 2 backend
END
    'default.yaml' => <<'END',
! owner (no route): monolith -> messages
1 change: 1 owner (1 moves writes)
END
);

for my $new (sort keys %want) {
    my ($rc, $out, $err) = run($cli, 'diff', 'base.yaml', $new);
    my $changes = $new eq 'same.yaml' ? 0 : 1;
    is($rc, $changes, "$new: status $changes");
    is($out, $want{$new}, "$new: what changes") or diag($err);
    is($err, '', "$new: nothing on stderr");
}

# every table here is a kind of change
is_deeply([sort grep { $_ ne 'base.yaml' } glob '*.yaml'], [sort keys %want],
          'each table of tests/cli/diff is checked');

my ($rc, $out, $err) = run($cli, 'diff', 'base.yaml', 'base.yaml');
is($rc, 0, 'a table against itself: status 0');

# the other way round: the owner moves back, still first and marked
($rc, $out, $err) = run($cli, 'diff', 'owner.yaml', 'base.yaml');
like($out, qr/\A! owner writes \/api\/conversations, \/api\/conversations\/\{id\} \(route conversations\): messages -> monolith$/m,
     'an owner change back is marked too');


# JSON -----------------------------------------------------------------------

($rc, $out, $err) = run($cli, 'diff', '--json', 'base.yaml',
                        'precedence.yaml');
is($rc, 1, '--json: status 1');
my $j = eval { decode_json($out) };
ok($j, '--json: valid JSON') or diag($@, $out);
is($j->{old}, 'base.yaml', '--json: old');
is($j->{new}, 'precedence.yaml', '--json: new');
is_deeply($j->{summary}, { owner => 0, reads => 0, shadow => 0, route => 0,
                           added => 2, removed => 1, precedence => 3,
                           backend => 0, moves_writes => 1 },
          '--json: the summary');
my $first = $j->{changes}[0];
is_deeply([@$first{qw(kind moves_writes class example patterns
                      pattern_after route_before route_after before
                      after)}],
          ['precedence', JSON::PP::true, 'writes', 'POST /api/users/1/inbox',
           ['/api/users/{id}/inbox'], '~ ^/api/users/[0-9]+/inbox$',
           'inbox', 'inbox-writes', 'monolith', 'messages'],
          '--json: the regex taking the template\'s writes comes first');
is(scalar @{ $j->{changes} }, 6, '--json: as many changes as the text');

($rc, $out, $err) = run($cli, 'diff', '--json', 'base.yaml', 'same.yaml');
is($rc, 0, '--json, no change: status 0');
is_deeply(decode_json($out)->{changes}, [], '--json, no change: none');


# --fail-on owner: only a change that moves writes fails ----------------------

($rc, $out, $err) = run($cli, 'diff', '--fail-on', 'owner', 'base.yaml',
                        'reads.yaml');
is($rc, 0, '--fail-on owner: moved reads pass');
like($out, qr/^~ reads /m, '--fail-on owner: ... and are still shown');
($rc) = run($cli, 'diff', '--fail-on', 'owner', 'base.yaml', 'owner.yaml');
is($rc, 1, '--fail-on owner: a moved owner fails');
($rc) = run($cli, 'diff', '--fail-on', 'any', 'base.yaml', 'reads.yaml');
is($rc, 1, '--fail-on any: any change fails (the default)');
($rc, $out, $err) = run($cli, 'diff', '--fail-on', 'reads', 'base.yaml',
                        'reads.yaml');
is($rc, 2, '--fail-on with another word: a usage error');
like($err, qr/--fail-on takes "any" or "owner"/, '... saying which words');

# trouble: status 2 -----------------------------------------------------------

($rc, $out, $err) = run($cli, 'diff', 'base.yaml', 'nope.yaml');
is($rc, 2, 'a missing table: status 2');
like($err, qr/^nope\.yaml: cannot open: /, 'a missing table: said so');

($rc, $out, $err) = run($cli, 'diff', 'base.yaml', '../bad.cases.yaml');
is($rc, 2, 'not a table: status 2');
like($err, qr/^\.\.\/bad\.cases\.yaml:\d+:\d+: /, 'not a table: where');

($rc, $out, $err) = run($cli, 'diff', 'base.yaml');
is($rc, 2, 'one table: a usage error');

# a table on standard input
my $pid = open3(my $in, my $o, undef, $cli, 'diff', 'base.yaml', '-');
open my $fh, '<', 'owner.yaml' or die $!;
print $in do { local $/; <$fh> };
close $in;
$out = do { local $/; <$o> };
waitpid $pid, 0;
is($? >> 8, 1, 'NEW from standard input: status 1');
like($out, qr/^! owner writes /m, 'NEW from standard input: the change');

done_testing();
