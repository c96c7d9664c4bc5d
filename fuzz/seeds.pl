#!/usr/bin/perl
# Writes the seed corpora of the fuzz targets:
#
#   perl fuzz/seeds.pl fuzz/corpus tests/*.t routes/*.yaml
#
# load/: the route tables of the Test::Nginx files (their `>>> *.yaml`
# user files) and of routes/, each named after its source and position, so
# running it again rewrites the same files.  match/: a few requests on each
# fixed table, and the valid tables above with requests after them.
# compare/: JSON and plain bodies, alike and different, plain and gzip'd.
use strict;
use warnings;

use IO::Compress::Gzip qw(gzip);

my $root = shift @ARGV or die "usage: $0 DIR FILE...\n";
my $dir = "$root/load";
my $n = 0;
my @tables;

for my $src (@ARGV) {
    open my $in, '<', $src or die "$src: $!\n";
    my @lines = <$in>;
    close $in;

    (my $base = $src) =~ s{.*/}{};
    $base =~ s{\.[^.]+$}{};

    if ($src =~ /\.ya?ml$/) {
        write_seed("routes-$base.yaml", join '', @lines);
        push @tables, join '', @lines;
        next;
    }

    my ($name, $text, $i) = (undef, '', 0);
    for my $line (@lines, "--- end\n") {
        if (defined $name
            && $line =~ /^(?:>>> |--- |=== |_EOC_|\$|\}|END)/)
        {
            if ($text =~ /\S/) {
                write_seed(sprintf("test-%s-%02d.yaml", $base, ++$i), $text);
                push @tables, $text if $base !~ /error/;
            }
            undef $name;
        }
        if ($line =~ /^>>> (\S+\.ya?ml)\s*$/) {
            ($name, $text) = ($1, '');
            next;
        }
        $text .= $line if defined $name;
    }
}

print "$n seeds in $dir\n";

match_seeds();
compare_seeds();

# a request of the match target: method, path mode and bytes, force,
# sticky key, random numbers, override
sub request {
    my ($method, $path, $force, $key) = @_;
    my $r = pack('C', $method);
    $r .= pack('C C/a*', 0, $path);
    $r .= defined $force ? pack('C C/a*', 2, $force) : pack('C', 0);
    $r .= defined $key ? pack('C C/a*', 1, $key) : pack('C', 0);
    $r .= pack('V V', 12345, 678);
    return $r;
}

sub match_seeds {
    $dir = "$root/match";
    $n = 0;
    my @reqs = (
        request(0, '/api/conversations/42'),
        request(3, '/api/conversations'),
        request(0, '/api/users/12/inbox', undef, 'user-7'),
        request(1, '/a/b/c', 'svc'),
        request(3, '/a/x/c', 'mono'),
        request(0, '/svc/10/r123'),
        request(5, '/svc/7/x'),
        request(2, '/A/X/y', undef, ''),
        request(0, '/svc/2/9/items/z', undef, 'k'),
        pack('C C C C C', 0, 1, 3, 40, 41) . pack('C C V V', 0, 2, 1, 2)
            . pack('C C C V', 3, 1, 2, 500000),
    );
    for my $t (0 .. 3) {
        write_seed(sprintf('fixed-%02d', $t), pack('C', $t) . join '', @reqs);
    }
    my $i = 0;
    for my $table (@tables) {
        write_seed(sprintf('table-%02d', ++$i),
                   pack('C v/a*', 0x80, $table) . join '', @reqs[0 .. 4]);
    }
    print "$n seeds in $dir\n";
}

# cfg: compare mode (0-3), gzip flags 4 and 8, small bound 0x20, same
# status 0x40, same body 0x80; then ignores, headers, statuses, bodies,
# piece sizes and the diff line's URI and buffer size
sub compare_body {
    my ($cfg, $ignores, $p, $s) = @_;
    my $r = pack('C', $cfg);
    $r .= pack('C', scalar @$ignores) . join '', map {
        /^\d+$/ ? pack('C', $_) : pack('C C/a*', 0x80, $_)
    } @$ignores;
    $r .= pack('C C C/a* C/a*', 1, 3, 'a/json', 'b/json');
    $r .= pack('C C C', 1, 0, 1);
    $r .= pack('v/a*', $p);
    $r .= pack('v/a*', $s) unless $cfg & 0x80;
    $r .= pack('C C', 7, 0) . pack('C C', 0, 0);
    $r .= pack('C/a* C', '/api/x?y=1', 20);
    return $r;
}

sub compare_seeds {
    $dir = "$root/compare";
    $n = 0;
    my @pairs = (
        ['{"a":1,"b":[1,2,{"c":null}],"meta":{"request_id":"x"}}',
         '{"b":[1,2.0,{"c":null}],"a":1,"meta":{"request_id":"y"}}'],
        ['{"items":[{"id":1,"v":"\u00e9"},{"id":2}]}',
         '{"items":[{"id":3,"v":"e"}],"more":true}'],
        ['[1,2,3]', '[1,2]'],
        ['"text"', '1e2'],
        ['{"a key":{"x":1}}', '{"a key":{"x":2}}'],
        ['not json', 'not json either'],
        ['', '{}'],
    );
    my $i = 0;
    for my $pair (@pairs) {
        for my $cfg (3, 2, 0x40 | 3, 0x80 | 3, 0x20 | 3) {
            write_seed(sprintf('body-%02d-%02x', ++$i, $cfg),
                       compare_body($cfg, [1, 0, 'header:Date'], @$pair));
        }
    }
    my ($gp, $gs);
    gzip(\$pairs[0][0] => \$gp);
    gzip(\$pairs[0][1] => \$gs);
    write_seed('gzip-json', compare_body(3 | 4 | 8, [1], $gp, $gs));
    write_seed('gzip-plain', compare_body(2 | 4, [], $gp, $pairs[0][0]));
    print "$n seeds in $dir\n";
}

sub write_seed {
    my ($file, $text) = @_;
    open my $out, '>', "$dir/$file" or die "$dir/$file: $!\n";
    print $out $text;
    close $out;
    $n++;
}
