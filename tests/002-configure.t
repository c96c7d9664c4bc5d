# `config` stops configure with the Debian package to install when a
# library is missing.  A compiler wrapper makes one header "missing" for
# configure's feature checks, so this runs on a machine that has them all.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $top = abs_path(dirname(__FILE__) . '/..');
my $src = '/usr/share/nginx/src';

plan skip_all => "no nginx configure tree at $src (nginx-dev)"
    unless -x "$src/configure";

my %missing = (
    'yaml.h'    => 'apt-get install libyaml-dev',
    'pcre2.h'   => 'apt-get install libpcre2-dev',
    'jansson.h' => 'apt-get install libjansson-dev',
);

for my $header (sort keys %missing) {
    my $dir = tempdir(CLEANUP => 1);
    system('cp', '-a', "$src/.", "$dir/nginx") == 0 or die "cp: $?";

    # a cc that fails on any source including the header
    open my $cc, '>', "$dir/cc" or die $!;
    print $cc <<"END";
#!/bin/sh
for a in "\$@"; do
    case "\$a" in
    *.c) grep -q '#include <$header>' "\$a" 2>/dev/null && exit 1 ;;
    esac
done
exec cc "\$@"
END
    close $cc;
    chmod 0755, "$dir/cc";

    my $out = `cd $dir/nginx && ./configure --with-cc=$dir/cc --without-http_rewrite_module --without-http_gzip_module --add-dynamic-module=$top 2>&1`;

    isnt $?, 0, "configure fails without $header";
    like $out, qr/ngx_http_strangler_module requires .*\n.*\Q$missing{$header}\E/,
         "and names the package: $missing{$header}";
}

done_testing();
