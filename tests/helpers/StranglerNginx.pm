# An nginx of its own, for the plain Test::More scripts that need one
# nginx across reloads and restarts (Test::Nginx starts one per block):
# its prefix (conf/, logs/, state/), free ports, its files, `nginx -s`,
# and calls to it.  On PERL5LIB by the Makefile (tests/helpers), so the
# scripts run unchanged with the real Test::Nginx or with tests/lib.
#
#   use StranglerNginx;
#   my $prefix = nginx_prefix();        # a temporary prefix
#   my $front = front(free_port());     # the port call() sends to
#   write_file('conf/nginx.conf', ...);
#   nginx() == 0 or die;  call('GET', '/x');  reload();  stop();

package StranglerNginx;

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep);

our @EXPORT = qw(nginx_prefix free_port front write_file read_file nginx
                 nginx_at stop reload call api_json);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $prefix;
my $front;
my $http = HTTP::Tiny->new(timeout => 3, keep_alive => 0);


# a temporary prefix with conf/ and logs/, and state/ that the workers
# may write (they may run as another user); removed at exit
sub nginx_prefix {
    $prefix = tempdir(CLEANUP => 1);
    mkdir "$prefix/$_" for qw(conf logs state);
    chmod 0777, "$prefix/state";
    return $prefix;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

# the port call() and api_json() send to; returns it
sub front {
    ($front) = @_ if @_;
    return $front;
}

# a file under the prefix (or an absolute path)
sub write_file {
    my ($name, $text) = @_;
    my $path = $name =~ m{^/} ? $name : "$prefix/$name";
    open my $fh, '>', $path or die "$name: $!";
    print $fh $text;
    close $fh;
}

# '' when it cannot be read
sub read_file {
    my ($name) = @_;
    my $path = $name =~ m{^/} ? $name : "$prefix/$name";
    open my $fh, '<', $path or return '';
    local $/;
    return <$fh>;
}

# nginx with the prefix's conf/nginx.conf and these arguments; its own
# messages go to logs/stderr.log; returns system()'s status
sub nginx {
    return nginx_at($prefix, @_);
}

# the same in another prefix (a host of several)
sub nginx_at {
    my ($dir, @args) = @_;
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$dir/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$dir/", '-c', 'conf/nginx.conf', @args);
    open STDERR, '>&', $saved or die $!;
    return $rc;
}

# `-s quit` (or the signal named), and the pid file gone
sub stop {
    my ($signal) = @_;
    nginx('-s', $signal // 'quit');
    for (1 .. 200) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.05 }
}

# `-s reload`; back once the old workers are gone (the pids passed, if
# any) and the new ones have had time to start
sub reload {
    my @old = @_;
    my $rc = nginx('-s', 'reload');
    for (1 .. 100) {
        last unless grep { kill 0, $_ } @old;
        sleep 0.05;
    }
    sleep(@old ? 0.2 : 0.5);
    return $rc;
}

# a request to the front port; HTTP::Tiny's response
sub call {
    my ($method, $path, $body) = @_;
    return $http->request($method, "http://127.0.0.1:$front$path",
                          defined $body ? { content => $body } : {});
}

# an API call: its JSON, with the HTTP status as `_status`; one that is no
# JSON object comes back as { status => ..., _status => ... }
sub api_json {
    my ($method, $path, $body) = @_;
    my $res = call($method, "/_strangler/$path", $body);
    my $json = eval { decode_json($res->{content}) };
    $json = { status => $res->{status} } unless ref $json eq 'HASH';
    $json->{_status} = $res->{status};
    return $json;
}

1;
