# `strangler test`: the repository's tables hold their cases files; a
# failing case says where and why, with status 1; a bad cases file is
# refused with file:line:col and status 2; coverage figures on a table of
# known coverage, --fail-under; --tap run by prove.  Plain Test::More: the
# command runs the same route-table code as nginx (see 016 for agreement).
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IPC::Open3 qw(open3);
use Symbol qw(gensym);

my $top = abs_path(dirname(__FILE__) . '/..');
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";

chdir $top or die "$top: $!";

# (status, stdout, stderr) of a command, run from the top directory
sub run {
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, @_);
    close $in;
    my $stdout = do { local $/; <$out> } // '';
    my $stderr = do { local $/; <$err> } // '';
    waitpid $pid, 0;
    return ($? >> 8, $stdout, $stderr);
}

my $tmp = tempdir(CLEANUP => 1);

sub spew {
    open my $fh, '>', $_[0] or die "$_[0]: $!";
    print $fh $_[1];
    close $fh;
}


# every table of routes/ has its cases, and they all hold ------------------

my @tables = grep { !/\.cases\.yaml$/ } glob "routes/*.yaml";
ok(@tables >= 2, 'tables in routes/');

for my $table (@tables) {
    (my $cases = $table) =~ s/\.yaml$/.cases.yaml/;
    ok(-f $cases, "$table has $cases") or next;

    my ($rc, $out, $err) = run($cli, 'test', $table, $cases);
    is($rc, 0, "$cases: every case holds") or diag($out, $err);
    like($out, qr/^\Q$table\E: (\d+) cases, \1 passed, 0 failed$/m,
         "$cases: the summary");
    like($out, qr{^coverage: routes (\d+)/\1 \(100\.0%\), route paths (\d+)/\2 \(100\.0%\)$}m,
         "$cases: every route and route path is exercised");
}


# a failing case: one line naming the case's file:line, the summary -------

my ($rc, $out, $err) = run($cli, 'test', 'routes/demo.yaml',
                           'tests/cli/failing.cases.yaml');
is($rc, 1, 'a failing case: status 1');
is((split /\n/, $out)[0],
   'tests/cli/failing.cases.yaml:5: POST /api/conversations/7 (writes moved '
   . 'too early): backend: expected "messages", got "monolith"; reason: '
   . 'expected "split", got "template"',
   'the failure names the case, where it is, and each expectation missed');
is(scalar(() = $out =~ /^tests\/cli\/failing/mg), 1, 'one line per failure');
like($out, qr/^routes\/demo\.yaml: 3 cases, 2 passed, 1 failed$/m,
     'the summary');
is($err, '', 'nothing on stderr');


# coverage on a table of known coverage --------------------------------------

my @cov = ($cli, 'test', 'tests/cli/coverage.yaml',
           'tests/cli/coverage.cases.yaml');

($rc, $out, $err) = run(@cov);
is($rc, 0, 'coverage: the cases hold');
is($out, <<'END', 'coverage: the figures and what is not exercised');
tests/cli/coverage.yaml: 5 cases, 5 passed, 0 failed
coverage: routes 2/4 (50.0%), route paths 3/8 (37.5%)
not exercised: route users (/api/users, /api/users/{id})
not exercised: route search (/api/search)
not exercised: /api/conversations (route conversations)
not exercised: /api/users/{id}/inbox/* (route inbox)
END

($rc, $out, $err) = run(@cov, '--fail-under', '37.5');
is($rc, 0, '--fail-under 37.5: both figures reach it');

($rc, $out, $err) = run(@cov, '--fail-under', '40');
is($rc, 1, '--fail-under 40: status 1');
is($err, "coverage under 40%: route paths\n", '--fail-under 40: why');

($rc, $out, $err) = run(@cov, '--fail-under', '60%');
is($rc, 1, '--fail-under 60%: status 1');
is($err, "coverage under 60%: routes route paths\n",
   '--fail-under 60%: both figures');

($rc, $out, $err) = run(@cov, '--fail-under', '101');
is($rc, 2, '--fail-under 101: a usage error');


# a bad cases file: every error with file:line:col, in line order, status 2

($rc, $out, $err) = run($cli, 'test', 'routes/demo.yaml',
                        'tests/cli/bad.cases.yaml');
is($rc, 2, 'a bad cases file: status 2');
is($out, '', 'no case runs');
my @lines = split /\n/, $err;
like($lines[0], qr/^tests\/cli\/bad\.cases\.yaml:3:46: unknown backend "mesages" in case #1$/,
     'an unknown backend, at its column');
like($lines[1], qr/^tests\/cli\/bad\.cases\.yaml:4:24: bad method "get" in case #2: /,
     'a method nginx refuses');
like($lines[2], qr/^tests\/cli\/bad\.cases\.yaml:4:39: unknown key "header" in case #2$/,
     'an unknown key');
like($lines[3], qr/^tests\/cli\/bad\.cases\.yaml:5:22: unknown route "nope"/,
     'an unknown route');
like($lines[4], qr/^tests\/cli\/bad\.cases\.yaml:6:22: bad path "\/a\/%zz" in case #3: /,
     'a path nginx answers 400 to');
like($lines[5], qr/^tests\/cli\/bad\.cases\.yaml:7:13: "expect" must be a mapping/,
     'an empty expect');
is(scalar @lines, 6, 'six errors');

open my $fh, '>', "$tmp/empty.yaml" or die $!;
close $fh;
($rc, $out, $err) = run($cli, 'test', 'routes/demo.yaml', "$tmp/empty.yaml");
is($rc, 2, 'an empty cases file: status 2');
like($err, qr/^\Q$tmp\E\/empty\.yaml:1:1: the cases file is empty/,
     'an empty cases file: said so');


# a bad or missing table, a missing cases file: status 2 -------------------

($rc, $out, $err) = run($cli, 'test', 'routes/nope.yaml',
                        'routes/demo.cases.yaml');
is($rc, 2, 'a missing table: status 2');
like($err, qr/^routes\/nope\.yaml: cannot open: /, 'a missing table: said so');

open $fh, '>', "$tmp/bad.yaml" or die $!;
print $fh "version: 1\ndefault: nope\nbackends: { a: {} }\n";
close $fh;
($rc, $out, $err) = run($cli, 'test', "$tmp/bad.yaml",
                        'routes/demo.cases.yaml');
is($rc, 2, 'an invalid table: status 2');
like($err, qr/^\Q$tmp\E\/bad\.yaml:2:10: /, 'an invalid table: where');

($rc, $out, $err) = run($cli, 'test', 'routes/demo.yaml', "$tmp/nope.yaml");
is($rc, 2, 'a missing cases file: status 2');


# the key of a split from a cookie, the address, an argument -------------

($rc, $out, $err) = run($cli, 'test', 'tests/cli/sticky.yaml',
                        'tests/cli/sticky.cases.yaml');
is($rc, 0, 'sticky keys: the cases hold') or diag($out, $err);

# each case with the other backend expected fails: the key decided
open $fh, '<', 'tests/cli/sticky.cases.yaml' or die $!;
my $flipped = do { local $/; <$fh> };
close $fh;
my $n = ($flipped =~ s/backend: (messages|monolith)/
                       'backend: ' . ($1 eq 'messages' ? 'monolith' : 'messages')/ge);
spew("$tmp/flipped.yaml", $flipped);
($rc, $out, $err) = run($cli, 'test', 'tests/cli/sticky.yaml',
                        "$tmp/flipped.yaml");
is($rc, 1, 'sticky keys, the other backend expected: status 1');
like($out, qr/^tests\/cli\/sticky\.yaml: $n cases, 0 passed, $n failed$/m,
     "sticky keys, the other backend expected: all $n cases fail");

# what `explain` says for the same keys
for my $c (['--cookie', 'uid=1', '/c', 'monolith'],
           ['--ip', '10.0.0.1', '/ip', 'messages'],
           ['', '', '/arg?user=2', 'messages'])
{
    my ($opt, $v, $path, $want) = @$c;
    ($rc, $out) = run($cli, 'explain', 'tests/cli/sticky.yaml', 'GET', $path,
                      $opt ? ($opt, $v) : ());
    like($out, qr/^backend: $want$/m,
         join(" ", "explain agrees:", $path, $opt ? ($opt, $v) : ()));
}


# TAP, run by prove ------------------------------------------------------------

my $prove = "prove -e '$cli test --tap routes/demo.yaml'";

my $tap = `$prove routes/demo.cases.yaml 2>&1`;
is($?, 0, 'prove runs the demo cases') or diag($tap);
like($tap, qr/^All tests successful\.$/m, 'prove: all tests successful');

$tap = `$prove tests/cli/failing.cases.yaml 2>&1`;
isnt($?, 0, 'prove fails on a failing case');
like($tap, qr/Failed 1\/3 subtests/, 'prove: one test point of three fails');
like($tap, qr/^#   tests\/cli\/failing\.cases\.yaml:5: backend: expected "messages", got "monolith"$/m,
     'prove shows why');

$tap = `prove -e '$cli test --tap --fail-under 40 tests/cli/coverage.yaml' tests/cli/coverage.cases.yaml 2>&1`;
isnt($?, 0, 'prove fails when the coverage is under --fail-under');
like($tap, qr/Failed 1\/6 subtests/, 'prove: the coverage is a test point');

done_testing();
