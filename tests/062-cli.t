# The `strangler` command's edges: a table on standard input (`check -`),
# --help for each command and --version (status 0, on stdout), errors in
# line order, a missing file (status 2, like diff(1)) apart from an invalid
# table (status 1).  Plain Test::More.
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
my $tmp = tempdir(CLEANUP => 1);

chdir $top or die "$top: $!";

# (status, stdout, stderr), with `input` on standard input
sub run {
    my ($input, @cmd) = @_;
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, @cmd);
    print $in $input if defined $input;
    close $in;
    my $stdout = do { local $/; <$out> } // '';
    my $stderr = do { local $/; <$err> } // '';
    waitpid $pid, 0;
    return ($? >> 8, $stdout, $stderr);
}

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

sub spew {
    open my $fh, '>', $_[0] or die "$_[0]: $!";
    print $fh $_[1];
    close $fh;
}


# check -: the table on standard input -----------------------------------

my $demo = slurp('routes/demo.yaml');
my ($rc, $out, $err) = run($demo, $cli, 'check', '-');
is($rc, 0, 'check -: status 0');
like($out, qr/^<stdin>: ok, 4 routes, 2 backends, sha256 [0-9a-f]{64}$/,
     'check -: the table read from standard input');

(my $typo = $demo) =~ s/reads: messages/reads: mesages/;
($rc, $out, $err) = run($typo, $cli, 'check', '-');
is($rc, 1, 'check - with an invalid table: status 1');
is($err, qq{<stdin>:21:12: route "conversations": unknown backend "mesages"\n},
   'check -: the error names <stdin>, line and column');

($rc, $out, $err) = run($demo, $cli, 'explain', '-', 'GET',
                        '/api/users/7/inbox');
is($rc, 0, 'explain -: status 0');
like($out, qr/^route: inbox$/m, 'explain -: the table from standard input');


# --help and --version ---------------------------------------------------------

for my $cmd (qw(check explain test diff report)) {
    ($rc, $out, $err) = run(undef, $cli, $cmd, '--help');
    is($rc, 0, "$cmd --help: status 0");
    like($out, qr/^usage: strangler $cmd /, "$cmd --help: its usage, on stdout");
    is($err, '', "$cmd --help: nothing on stderr");
}

($rc, $out, $err) = run(undef, $cli, '--help');
is($rc, 0, '--help: status 0');
like($out, qr/^ +strangler test TABLE CASES\.\.\./m, '--help lists test');
like($out, qr/^ +strangler diff OLD NEW/m, '--help lists diff');

($rc, $out, $err) = run(undef, $cli, '--version');
is($rc, 0, '--version: status 0');
like($out, qr/^strangler \d+\.\d+\.\d+ \(route table version 1\)$/,
     '--version: the version');

($rc, $out, $err) = run(undef, $cli, 'nope');
is($rc, 2, 'an unknown command: status 2');
($rc, $out, $err) = run(undef, $cli, 'check', '--nope', 'routes/demo.yaml');
is($rc, 2, 'an unknown option: status 2');


# errors in line order -------------------------------------------------------

# the loader reads a route's name, owner and reads before its paths
spew("$tmp/order.yaml", <<'END');
version: 1
default: monolith
backends: { monolith: {} }
routes:
  - paths: ["/a/{"]
    owner: nope
    name: x
    reads: { monolith: 0 }
END

($rc, $out, $err) = run(undef, $cli, 'check', "$tmp/order.yaml");
is($rc, 1, 'an invalid table: status 1');
is_deeply([map { /^\Q$tmp\E\/order\.yaml:(\d+):(\d+): / ? "$1:$2" : $_ }
           split /\n/, $err],
          ['5:17', '6:12', '8:24'], 'the errors in line order');


# a missing file: status 2, apart from an invalid table ---------------------

($rc, $out, $err) = run(undef, $cli, 'check', "$tmp/nope.yaml");
is($rc, 2, 'check, a missing file: status 2');
is($err, "$tmp/nope.yaml: cannot open: No such file or directory\n",
   'check, a missing file: said so');

($rc, $out, $err) = run(undef, $cli, 'check', 'routes/demo.yaml',
                        "$tmp/order.yaml", "$tmp/nope.yaml");
is($rc, 2, 'check: trouble wins over an invalid table');
like($out, qr/^routes\/demo\.yaml: ok/, 'check: the valid table still said');

($rc, $out, $err) = run(undef, $cli, 'explain', "$tmp/nope.yaml", 'GET',
                        '/');
is($rc, 2, 'explain, a missing file: status 2');

($rc, $out, $err) = run(undef, $cli, 'explain', "$tmp/order.yaml", 'GET',
                        '/');
is($rc, 1, 'explain, an invalid table: status 1');

done_testing();
