#!/usr/bin/perl
# stat-agent.pl: stat() for the bot without a process per call. Kept running on the pooled SSH connection
# for the life of that connection; each request costs one small round trip instead of a remote shell.
#
# Operands: none.
# Stdin:    requests, one after another: one path per line, then an empty line that ends the request.
#           Paths hold no newline (the bot refuses control characters in every argument).
# Output:   per request, one line per path in the order asked, then a line holding only ".":
#             "SIZE MTIME"  size in bytes, mtime in seconds since the epoch with 9 decimals
#             "-"           the path does not exist (ENOENT, or a component is not a directory: ENOTDIR)
#             "?"           any other error (permission denied, I/O error, ...)
#           Output is unbuffered, so each reply leaves as soon as it is complete.
# Exit codes: 0 once stdin closes (the bot closed the channel or the connection went).
#             2 when perl cannot compile it, notably without Time::HiRes (perl-base-only hosts): the bot
#               sees the channel close before any reply and stats by command on that connection instead.
use strict;
use warnings;
use Time::HiRes qw(stat);

$| = 1;
my @paths;
while (my $line = <STDIN>) {
    chomp $line;
    if (length $line) {
        push @paths, $line;
        next;
    }
    my $reply = '';
    for my $path (@paths) {
        my @st = stat($path);
        if (@st) {
            $reply .= sprintf("%d %.9f\n", $st[7], $st[9]);
        } elsif ($!{ENOENT} || $!{ENOTDIR}) {
            $reply .= "-\n";
        } else {
            $reply .= "?\n";
        }
    }
    print $reply, ".\n";
    @paths = ();
}
exit 0;
