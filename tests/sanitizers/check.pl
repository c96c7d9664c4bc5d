#!/usr/bin/perl
# Reads the sanitizer report files of `make test-asan` (ASan, UBSan and
# LeakSanitizer write one per process, see ASAN_OPTIONS=log_path), drops
# nginx's own known leaks, prints the rest and fails if anything is left.
#
#   perl tests/sanitizers/check.pl DIR
#
# nginx's own leaks, recognised by the first frames of their allocation
# stack, so that a leak of the module is never mistaken for one of them:
#   - the init cycle's pool, made by main() and not destroyed when main()
#     returns early (nginx -t, nginx -s reload, a configuration error);
#   - the connections and events ngx_event_process_init() allocates, never
#     freed when a worker or a single process exits;
#   - PCRE2 code that ngx_http_regex_compile() (rewrite, regex locations)
#     allocates through ngx_regex_malloc() and never frees: reported by
#     workers with master_process on, whose reports are written since the
#     log directory became writable to them.
# and one recognised by the whole report of a process:
#   - the cycle main() makes with ngx_init_cycle() for `nginx -t` (or
#     `nginx -s`), which main() returns without destroying.  Nothing of
#     nginx points to it then (ngx_cycle is set only for a server), so
#     whether LSan reports it depends on whether a register or a stack slot
#     still holds its address at exit: it does for most configurations, not
#     for some (083-fleet-tls.t's `nginx -t`, or `access_log off` with a
#     route table).  The cycle's pool holds the cycle, which points to the
#     pool, so every block of it is an "Indirect" leak and none is direct.
#     Recognised only when the report holds nothing else: only indirect
#     leaks, the cycle's pool among them, every one allocated under
#     main() -> ngx_init_cycle() or by OpenSSL with a stack cut short in
#     libcrypto or libssl (the SSL contexts the cycle's pool would free),
#     none by a process that went on to serve.
# UBSan reports in nginx's own sources are suppressed at run time instead,
# by tests/sanitizers/ubsan.supp.
use strict;
use warnings;

my $dir = shift or die "usage: $0 DIR\n";
my ($files, $known, @left) = (0, 0);

for my $file (sort glob "$dir/*") {
    open my $in, '<', $file or die "$file: $!\n";
    my $text = do { local $/; <$in> };
    close $in;
    $files++;

    # one process may write several reports; a leak report holds records
    for my $report (split /(?=^=+\n==\d+==ERROR)/m, $text) {
        next unless $report =~ /\S/;
        if ($report !~ /ERROR: LeakSanitizer/) {
            push @left, "$file:\n$report";
            next;
        }
        my @records = split /\n(?=(?:Direct|Indirect) leak of)/, $report;
        shift @records;     # the header
        my @kept = grep { !nginx_own($_) } @records;
        @kept = () if unfreed_test_cycle(\@records, @kept);
        $known += @records - @kept;
        push @left, "$file:\n" . join "\n", @kept if @kept;
    }
}

print "sanitizers: $files report files, $known known nginx leaks ignored, ",
      scalar(@left), " reports left\n";
print "$_\n" for @left;
exit(@left ? 1 : 0);

sub nginx_own {
    my ($record) = @_;
    my @f = frames($record);
    return 1 if @f >= 4 && $f[1] eq 'ngx_memalign'
                && $f[2] eq 'ngx_create_pool' && $f[3] eq 'main';
    return 1 if grep { $_ eq 'ngx_event_process_init' } @f[1 .. min(2, $#f)];
    return 1 if @f >= 4 && $f[1] eq 'ngx_alloc'
                && $f[2] eq 'ngx_regex_malloc'
                && grep({ $_ eq 'ngx_http_regex_compile' } @f[3 .. $#f])
                && !grep { /strangler/ } @f;
    return 0;
}

# The frames of a record's allocation stack, in order, one per frame: the
# function, or for a frame without symbols (a library's, as in OpenSSL's
# records) its object in parentheses, so that a rule's frame numbers stay
# the stack's.  A record may hold fewer frames than a rule looks at.
sub frames {
    my ($record) = @_;
    my @f;
    while ($record =~ /^\s+#\d+ 0x[0-9a-f]+\s+(?:in (\S+)|(\([^)]*\)))/mg) {
        push @f, defined $1 ? $1 : $2;
    }
    return @f;
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

# The records left of a report (the report's all: $all): nginx -t's
# cycle, never destroyed, and nothing else?
sub unfreed_test_cycle {
    my ($all, @records) = @_;
    my $pool = 0;

    return 0 unless @records;

    # a worker's or a single process's report: it went on to serve
    return 0 if grep { /\bngx_\w+_process_(?:init|cycle)\b/ } @$all;

    for my $record (@records) {
        return 0 unless $record =~ /^Indirect leak of/;

        my @f = frames($record);
        return 0 unless @f >= 2 && $f[0] =~ /^(?:__interceptor_)?
                            (?:malloc|calloc|realloc|posix_memalign)$/x;

        my $i = first_index('ngx_init_cycle', @f);

        if ($i >= 0) {
            return 0 unless $i < $#f && $f[$i + 1] eq 'main';
            $pool = 1 if $i == 3 && $f[1] eq 'ngx_memalign'
                         && $f[2] eq 'ngx_create_pool';
            next;
        }

        # OpenSSL's: the unwinder stops in the library, without frame
        # pointers; every frame after the allocator is the library's
        return 0 if grep { !openssl_frame($_) } @f[1 .. $#f];
    }

    return $pool;
}

# a frame of libcrypto or libssl: a function of theirs, or an address in
# them, or where the unwinder lost its way after them
sub openssl_frame {
    my ($frame) = @_;
    return $frame =~ /^(?:CRYPTO|OPENSSL|ASN1|BUF_MEM)_\w+$/
           || $frame =~ m{^\(/\S+/lib(?:crypto|ssl)\.so[.\d]*\+0x[0-9a-f]+\)$}
           || $frame eq '(<unknown module>)';
}

sub first_index {
    my ($name, @f) = @_;
    for my $i (0 .. $#f) {
        return $i if $f[$i] eq $name;
    }
    return -1;
}
