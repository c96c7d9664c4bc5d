# `strangler report`: diff logs summed up per route and field, array
# indexes folded, most frequent first, example request ids; bad lines
# skipped with their file:line; --route, --top, --json; exit statuses.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use JSON::PP;

my $top = abs_path(dirname(__FILE__) . '/..');
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $dir = tempdir(CLEANUP => 1);

sub line {
    my ($route, $id, @paths) = @_;
    return encode_json({
        time => '2025-05-01T10:00:00+00:00', route => $route,
        method => 'GET', uri => "/api/$route", request_id => $id,
        primary => { backend => 'monolith', status => 200 },
        shadow => { backend => 'svc', status => 200 },
        diffs => [ map { { path => $_, primary => '1', shadow => '2' } }
                   @paths ],
    }) . "\n";
}

sub run {
    my ($args, $stdin) = @_;
    my $out = "$dir/out";
    my $cmd = "$cli report $args >$out 2>$dir/err";
    if (defined $stdin) {
        open my $p, '|-', $cmd or die;
        print $p $stdin;
        close $p;
    } else {
        system $cmd;
    }
    my $rc = $? >> 8;
    local $/;
    open my $o, '<', $out or die;
    open my $e, '<', "$dir/err" or die;
    return ($rc, scalar <$o>, scalar <$e>);
}

open my $f, '>', "$dir/diff.jsonl" or die;
print $f line('users', 'r1', '$.name', '$.items[0].ts', '$.items[1].ts');
print $f line('users', '', 'status', '$.items[3].ts');
print $f "not a diff log line\n";
print $f line('users', 'r3', '$.items[0].ts');
print $f line('orders', 'o1', q{$['a[0]'][2]});
print $f "\n";
close $f;

my ($rc, $out, $err) = run("$dir/diff.jsonl");

is($rc, 0, 'exit 0');
like($err, qr{^strangler report: \Q$dir\E/diff\.jsonl:3: not a diff log line, skipped$}m,
     'a bad line is named and skipped');
like($out, qr/^route users: 3 mismatched requests, 3 fields$/m,
     'requests per route');
like($out, qr/^\s+3\s+100%\s+\$\.items\[\*\]\.ts\s+r1, \Q$dir\E\/diff\.jsonl:2, r3$/m,
     'indexes folded, a request counted once per field, examples');
like($out, qr/\$\.items\[\*\]\.ts.*\n.*\$\.name.*\n.*status/,
     'most frequent first, then by path');
like($out, qr/^\s+1\s+100%\s+\$\['a\[0\]'\]\[\*\]\s+o1$/m,
     'quoted keys are kept as they are');
like($out, qr/^4 diff log lines, 1 skipped$/m, 'the summary line');

($rc, $out) = run("--json --route users --top 1 $dir/diff.jsonl");
is($rc, 0, '--json: exit 0');
my $j = decode_json($out);
is(scalar @{ $j->{routes} }, 1, '--route keeps one route');
is_deeply($j->{routes}[0],
          { route => 'users', mismatched => 3, noise_only => 0,
            fields_total => 3,
            fields => [ { path => '$.items[*].ts', differences => 3,
                          noise => 0, examples => [ 'r1', "$dir/diff.jsonl:2",
                                        'r3' ] } ] },
          '--json --top 1: the top field');
is($j->{lines}, 4, 'lines read');
is($j->{skipped}, 1, 'lines skipped');

($rc, $out) = run('-', line('a', 'x', '$.b[9]') x 7);
like($out, qr/^\s+7\s+100%\s+\$\.b\[\*\]\s+x, x, x, x, x$/m,
     'standard input; at most five examples');

# noise cancelling: a line whose differences are all in its "noise"
# fields counts as noise-only, not mismatched; header fields in lowercase

sub noisy {
    my ($line, @noise) = @_;
    my $o = decode_json($line);
    $o->{noise} = [ @noise ];
    return encode_json($o) . "\n";
}

($rc, $out) = run('--json -',
                  noisy(line('n', 'a', '$.ts'), '$.ts')
                  . noisy(line('n', 'b', '$.ts', '$.total'), '$.ts')
                  . noisy(line('n', 'c', '$.ts', 'header:X-Id'), '$.ts',
                          'header:x-id')
                  . line('n', 'd', '$.ts'));
$j = decode_json($out);
is_deeply([ map { [ $_->{path}, $_->{differences}, $_->{noise} ] }
            @{ $j->{routes}[0]{fields} } ],
          [ [ '$.ts', 4, 3 ], [ '$.total', 1, 0 ], [ 'header:x-id', 1, 1 ] ],
          'per field: differences, and how often they were noise');
is($j->{routes}[0]{noise_only}, 2, 'noise-only lines');
is($j->{routes}[0]{mismatched}, 2, 'mismatched lines');

($rc, $out) = run('-', noisy(line('n', 'a', '$.ts'), '$.ts')
                       . line('n', 'b', '$.x'));
like($out, qr/^route n: 1 mismatched request, 1 noise-only, 2 fields$/m,
     'the text says the noise-only lines');
like($out, qr/^\s+1\s+50%\s+\$\.ts \(noise 1\)\s+a$/m,
     'and a field\'s noise');

($rc, $out, $err) = run("$dir/missing.jsonl");
is($rc, 2, 'a missing file: exit 2');
like($err, qr/missing\.jsonl: No such file or directory/, 'and why');

($rc, $out, $err) = run('--top 0 x');
is($rc, 2, 'a bad option: exit 2');

($rc, $out) = run('--help');
is($rc, 0, '--help: exit 0');
like($out, qr/^usage: strangler report/, '--help prints the usage');

done_testing();
