# The links of README.md and docs/*.md: every relative link names a file
# of the repository, and every `#anchor` a heading of the file it points
# to (GitHub's anchors: the heading's text in lower case, punctuation
# but `-` and `_` dropped, spaces as `-`, `-1`, `-2` for repeats).  Text
# moved from one file to another must take its links along.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;

my $top = abs_path("$FindBin::Bin/..");

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return <$fh>;
}

# the file's text outside code blocks and code spans
sub prose {
    my ($text) = @_;
    $text =~ s/^```.*?^```$//msg;
    $text =~ s/`[^`\n]*`/code/g;
    return $text;
}

my %anchors;

sub anchors {
    my ($file) = @_;
    return $anchors{$file} //= do {
        my (%set, %seen);
        my $text = slurp($file) =~ s/^```.*?^```$//msgr;
        for my $title ($text =~ /^#{1,6} +(.*?) *#* *$/mg) {
            my $slug = lc($title =~ s/`//gr =~ s/\[([^\]]*)\]\([^)]*\)/$1/gr);
            $slug =~ s/[^\w\- ]//g;
            $slug =~ s/ /-/g;
            my $n = $seen{$slug}++;
            $set{$n ? "$slug-$n" : $slug} = 1;
        }
        \%set;
    };
}

my @files = ("$top/README.md", glob "$top/docs/*.md");
ok(@files > 1, scalar(@files) . ' files: README.md and docs/*.md');

my $links = 0;

for my $file (@files) {
    (my $name = $file) =~ s{^\Q$top\E/}{};

    for my $link (prose(slurp($file)) =~ /\]\(([^)\s]+)\)/g) {
        next if $link =~ m{^[a-z]+:}i;      # https:, mailto:

        my ($path, $anchor) = $link =~ /^([^#]*)(?:#(.*))?$/;
        my $target = $path eq '' ? $file
                   : abs_path(dirname($file) . "/$path") // '';
        $links++;

        ok(-e $target && index($target, $top) == 0,
           "$name: ($link) names a file of the repository") or next;
        next unless defined $anchor;

        ok(-f $target && anchors($target)->{$anchor},
           "$name: ($link) names a heading there")
            or diag("headings: " . join(' ', sort keys %{ anchors($target) }));
    }
}

ok($links >= 10, "$links relative links");

done_testing();
