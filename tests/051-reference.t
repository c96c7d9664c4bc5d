# The reference (docs/reference.md) against the code: every directive of
# the commands array (with its contexts, number of arguments and default),
# every variable, every API call and every route-table key must be in it,
# and everything there must exist in the code.  The code
# is read as source: the tables it is made of are regular enough.
use strict;
use warnings;

use Test::More;
use FindBin;

my $top = "$FindBin::Bin/..";
my $src = "$top/ngx_strangler_module";

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return <$fh>;
}

my %code = map { $_ => slurp($_) } glob "$src/*/*.c $src/nginx/*/*.c";
my $glue = join "\n", map { $code{$_} } grep { m{/ngx_http_} } keys %code;


# the reference's tables: first cell => the other cells ------------------

my ($ref) = slurp("$top/docs/reference.md") =~ /^# Reference\n(.*)/ms;
ok($ref, 'docs/reference.md is the "# Reference"') or BAIL_OUT('no reference');

sub table {
    my ($title) = @_;
    my ($sec) = $ref =~ /^## \Q$title\E\n(.*?)(?=^## |\z)/ms;
    ok($sec, "reference: \"## $title\"") or return {};

    my %rows;
    for my $line ($sec =~ /^(\|.*)$/mg) {
        my @cells = map { s/^\s+|\s+$//gr }
                    split /(?<!\\)\|/, $line =~ s/^\||\|$//gr;
        next unless $cells[0] =~ /^`(.*)`$/;
        $rows{$1 =~ s/\\\|/|/gr} = [ @cells[1 .. $#cells] ];
    }
    return \%rows;
}


# directives ---------------------------------------------------------------

my %context = (NGX_HTTP_MAIN_CONF => 'http', NGX_HTTP_SRV_CONF => 'server',
               NGX_HTTP_LOC_CONF => 'location',
               NGX_HTTP_SIF_CONF => 'if in server',
               NGX_HTTP_LIF_CONF => 'if in location',
               NGX_HTTP_UPS_CONF => 'upstream');
my %arity = (NGX_CONF_NOARGS => '0', NGX_CONF_TAKE1 => '1',
             NGX_CONF_TAKE2 => '2', NGX_CONF_TAKE12 => '1-2',
             NGX_CONF_FLAG => '1', NGX_CONF_1MORE => '1+');

my ($commands) = $code{"$src/nginx/ngx_http_strangler_module.c"}
    =~ /ngx_http_strangler_commands\[\] = \{(.*?)ngx_null_command/s;

my %directives;
while ($commands =~ /\{\s*ngx_string\("(\w+)"\),\s*([^,]+),\s*\w+,\s*\w+,
                     \s*(offsetof\([^)]*\)|\w+),\s*\w+\s*\}/xg)
{
    my ($name, $flags, $offset) = ($1, $2, $3);
    my @flags = split /\s*\|\s*/, $flags;
    my ($field) = $offset =~ /offsetof\(\w+,\s*(\w+)\)/;
    $directives{$name} = {
        contexts => join(', ', map { $context{$_} // () } @flags),
        arity => join('', map { $arity{$_} // () } @flags),
        default => $field ? code_default($field) : undef,
    };
}

ok(keys %directives >= 6, scalar(keys %directives) . ' directives in code');

# the default the code gives a field, spelled as in nginx's configuration
sub code_default {
    my ($field) = @_;
    my ($type, $value) = $glue =~ /ngx_conf_(?:init|merge)_(\w+?)_value\(
                                   \s*\w+->\Q$field\E,(?:\s*\w+->\w+,)?
                                   \s*([^;]+)\);/x or return undef;
    return undef unless $value =~ /^[\d\s*+]+$/;
    $value = eval $value;
    if ($type eq 'msec') {
        return $value % 1000 ? "${value}ms" : ($value / 1000) . 's';
    }
    if ($type eq 'size') {
        return $value % 1048576 == 0 ? ($value / 1048576) . 'm'
             : $value % 1024 == 0 ? ($value / 1024) . 'k' : $value;
    }
    return $value;
}

my $doc = table('Directives');
my %doc_directive;

for my $syntax (keys %$doc) {
    my ($name, @args) = split ' ', $syntax =~ s/;$//r =~ s/\s*\|\s*\S+//gr;
    $doc_directive{$name} = { args => scalar @args, row => $doc->{$syntax} };
}

for my $name (sort keys %directives) {
    my $d = $directives{$name};
    my $row = $doc_directive{$name};

    ok($row, "directive $name is in the reference") or next;

    is($row->{row}[0], $d->{contexts}, "directive $name: $d->{contexts}");

    my ($min, $max) = $d->{arity} =~ /^(\d+)(?:-(\d+))?/;
    $max = $d->{arity} =~ /\+$/ ? 1e9 : $max // $min;
    ok($row->{args} >= $min && $row->{args} <= $max,
       "directive $name: $d->{arity} arguments") or diag($row->{args});

    is($row->{row}[1], $d->{default}, "directive $name: default")
        if defined $d->{default};
}

ok($directives{$_}, "directive $_ of the reference exists")
    for sort keys %doc_directive;


# variables ----------------------------------------------------------------

my %variables;
for my $vars ($glue =~ /ngx_http_variable_t\s+\w+\[\]\s*=\s*\{(.*?)
                        ngx_http_null_variable/xsg)
{
    $variables{"\$$1"} = 1 while $vars =~ /ngx_string\("(\w+)"\)/g;
}

ok(keys %variables >= 4, scalar(keys %variables) . ' variables in code');

my $doc_vars = table('Variables');
ok($doc_vars->{$_}, "variable $_ is in the reference") for sort keys %variables;
ok($variables{$_}, "variable $_ of the reference exists")
    for sort keys %$doc_vars;


# API calls: the endpoint table, with the methods its Allow header lists ----

my %calls;
my ($endpoints) = $code{"$src/nginx/api/ngx_http_strangler_api.c"}
    =~ /ngx_http_strangler_api_endpoints\[\]\s*=\s*\{(.*?)ngx_null_string/s;

while ($endpoints =~ /\{\s*ngx_string\("([^"]+)"\),\s*[^,]+,
                      \s*ngx_string\("([^"]+)"\)/xg)
{
    my $path = $1;
    $calls{"$_ $path"} = 1 for grep { $_ ne 'HEAD' } split /,\s*/, $2;
}

ok(keys %calls >= 6, scalar(keys %calls) . ' API calls in code');

# `PUT routes/NAME` documents `PUT routes/*`; the query string is the
# endpoint's arguments
my %doc_calls = map { s/\?.*//r =~ s{/[A-Z]+(?=/|$)}{/*}gr => $_ }
                keys %{ table('API calls') };

ok($doc_calls{$_}, "API call $_ is in the reference") for sort keys %calls;
ok($calls{$_}, "API call $doc_calls{$_} of the reference exists")
    for sort keys %doc_calls;


# route-table keys: the loader's field tables -------------------------------

my %prefix = (top => '', backend => 'backends.NAME.', route => 'routes[].',
              shadow => 'shadow.', guard => 'guard.',
              handoff => 'handoff.',
              readiness => 'readiness.', capture => 'capture.');
my %keys;

for my $file (grep { m{/strangler_load\w*\.c$} } sort keys %code) {
    while ($code{$file} =~ /strangler_yaml_field_t\s+strangler_(\w+)_fields
                            \[\]\s*=\s*\{(.*?)\};/xsg)
    {
        my ($table, $fields) = ($1, $2);
        ok(exists $prefix{$table}, "key table strangler_${table}_fields "
           . 'has a reference prefix in 051-reference.t') or next;

        while ($fields =~ /\{\s*"(\w+)",\s*\w+,\s*([01])\s*\}/g) {
            $keys{"$prefix{$table}$1"} = $2;
        }
    }
}

ok(keys %keys >= 15, scalar(keys %keys) . ' route-table keys in code');

my $doc_keys = table('Route table keys');

for my $key (sort keys %keys) {
    ok($doc_keys->{$key}, "key $key is in the reference") or next;
    is($doc_keys->{$key}[0] eq 'yes' ? 1 : 0, $keys{$key},
       "key $key: required is " . ($keys{$key} ? 'yes' : 'not yes'));
}

ok(exists $keys{$_}, "key $_ of the reference exists") for sort keys %$doc_keys;

done_testing();
