# The "Proving a shadow in Test::Nginx" recipe of docs/testing.md, run as it is
# shown: written to a file and run by prove with this suite's harness
# and nginx (the module loaded or compiled in), on fixed ports next to
# TEST_NGINX_SERVER_PORT.
use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $doc = do {
    my $file = "$FindBin::Bin/../docs/testing.md";
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    <$fh>;
};

my $title = '## Proving a shadow in Test::Nginx';
my ($section) = $doc =~ /^\Q$title\E\n(.*?)(?=^##|\z)/ms;
ok $section, 'docs/testing.md has the recipe' or BAIL_OUT('no recipe');

my ($recipe) = ($section // '') =~ /^```perl\n(.*?)^```$/ms;
like $recipe // '', qr/^use Test::Nginx::Socket;$/m, 'a Test::Nginx file';

my $tmp = tempdir(CLEANUP => 1);
mkdir "$tmp/t";
open my $fh, '>', "$tmp/t/shadow.t" or die $!;
print $fh $recipe;
close $fh;

# its own servroot: the suite's is in use by this file's runner
local $ENV{TEST_NGINX_SERVROOT} = "$tmp/servroot";

my $out = `cd $tmp && prove t/shadow.t 2>&1`;
is $?, 0, 'the recipe passes' or diag $out;
like $out, qr/^Result: PASS$/m, 'prove says PASS';

done_testing();
