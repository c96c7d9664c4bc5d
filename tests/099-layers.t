# `make layers` (mk/layers.sh) compiles each folder of the nginx glue with
# the include paths of the folders below it only.  The glue as it is
# passes; a copy in which a lower folder includes or calls a higher one,
# or a folder no layer names, fails and says which file.
use strict;
use warnings;
use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $top = abs_path(dirname(__FILE__) . '/..');
my $tree = $ENV{STRANGLER_NGINX_TREE} // "$top/build/nginx-dynamic";

plan skip_all => "no configured nginx tree at $tree (make module)"
    unless -f "$tree/objs/ngx_auto_config.h";

sub layers {
    my ($src) = @_;
    my $out = `'$top/mk/layers.sh' '$src/nginx' '$src/core' '$tree' 2>&1`;
    return ($? >> 8, $out);
}

# a copy of the sources with `$from` replaced by `$to` in one glue file
sub planted {
    my ($file, $from, $to) = @_;
    my $dir = tempdir(CLEANUP => 1);
    system('cp', '-a', "$top/ngx_strangler_module", $dir) == 0
        or die "cp: $?";
    my $path = "$dir/ngx_strangler_module/nginx/$file";
    open my $in, '<', $path or die "$path: $!";
    my $text = do { local $/; <$in> };
    close $in;
    $text =~ s/\Q$from\E/$to/ or die "$file has no \"$from\"";
    open my $out, '>', $path or die "$path: $!";
    print $out $text;
    close $out;
    return "$dir/ngx_strangler_module";
}

my ($rc, $out) = layers("$top/ngx_strangler_module");
is $rc, 0, 'the glue: each folder builds with the folders below it'
    or diag $out;

# the zone includes the API's header
($rc, $out) = layers(planted('state/ngx_http_strangler_zone.c',
    qq{#include "ngx_http_strangler_state.h"\n},
    qq{#include "ngx_http_strangler_state.h"\n}
    . qq{#include "ngx_http_strangler_api.h"\n}));
isnt $rc, 0, 'state/ including the API fails';
like $out, qr{state/ngx_http_strangler_zone\.c reaches above state/},
    'and names the file';
like $out, qr{ngx_http_strangler_api\.h: No such file},
    'the API header is out of reach';

# the fleet answers an HTTP call itself, by name, without the header
($rc, $out) = layers(planted('fleet/ngx_http_strangler_etcd_write.c',
    "    ch->done(ch, rc);\n",
    "    ch->done(ch, rc);\n"
    . "    (void) ngx_http_strangler_api_error(NULL, 500, \"%s\", \"\");\n"));
isnt $rc, 0, 'fleet/ calling the API by name fails';
like $out, qr{etcd_write\.c reaches above fleet/}, 'and names the file';
like $out, qr{implicit declaration of function \S*ngx_http_strangler_api_error},
    'the call has no declaration there';

# the guard includes the shadow's header: shadow/ is above guard/
($rc, $out) = layers(planted('guard/ngx_http_strangler_guard.c',
    qq{#include "ngx_http_strangler_guard.h"\n},
    qq{#include "ngx_http_strangler_guard.h"\n}
    . qq{#include "ngx_http_strangler_shadow.h"\n}));
isnt $rc, 0, 'guard/ including the shadow fails';
like $out, qr{guard/ngx_http_strangler_guard\.c reaches above guard/},
    'and names the file';

# a folder no layer names
my $src = planted('state/ngx_http_strangler_ctx.c', "\n", "\n");
mkdir "$src/nginx/extra" or die $!;
system('cp', "$src/nginx/state/ngx_http_strangler_ctx.c", "$src/nginx/extra")
    == 0 or die;
($rc, $out) = layers($src);
isnt $rc, 0, 'a folder in no layer fails';
like $out, qr{nginx/extra/ is in no layer}, 'and is named';

done_testing;
