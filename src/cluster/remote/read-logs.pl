#!/usr/bin/perl
# The new bytes of many training logs in one process: a shell starts four programs per log, which on a
# busy login node is most of the cost of a poll. read-logs.sh is the fallback without perl.
#
# Operands:   MAX_BYTES [FILE OFFSET SAVE]...
#               MAX_BYTES  read at most this many bytes of each file
#               FILE       a log (any characters)
#               OFFSET     the byte offset read up to last time
#               SAVE       a directory to look for a first global_step* in ("" = do not look)
# Stdin:      not read.
# Output:     for the K-th triple (from 0), either the line
#               @@ K missing                  FILE is not a regular file
#             or the header line
#               @@ K SIZE INODE START N CHECKPOINT
#             then one line holding the N bytes read from START, base64 without line breaks (empty when
#             N is 0). The header is printed after the read, so N is what was actually read. START is
#             OFFSET, or 0 when the file is now smaller (truncated or replaced); CHECKPOINT is the name
#             of a global_step* directory under SAVE, or `-`.
# Exit codes: 0 read; 2 no operands, or perl could not load MIME::Base64 (stderr says which); 127 from
#             the remote shell where there is no perl at all.
use strict;
use warnings;
use MIME::Base64;

if (!@ARGV) {
  print STDERR "usage: read-logs.pl MAX_BYTES [FILE OFFSET SAVE]...\n";
  exit 2;
}
my $max = shift @ARGV;
my $k   = 0;
while (@ARGV >= 3) {
  my ($file, $offset, $save) = splice(@ARGV, 0, 3);
  my @st = stat($file);
  if (!@st || !-f _) {
    print "@@ $k missing\n";
    $k++;
    next;
  }
  my ($size, $inode) = ($st[7], $st[1]);
  my $start = $size < $offset ? 0 : $offset;
  my $n = $size - $start;
  $n = $max if $n > $max;
  my $ck = '-';
  if ($save ne '') {
    for my $d (glob(quotemeta($save) . '/global_step*')) {
      if (-d $d) { ($ck) = $d =~ m{([^/]+)$}; last; }
    }
  }
  my $buf = '';
  if ($n > 0 && open(my $fh, '<:raw', $file)) {
    seek($fh, $start, 0);
    read($fh, $buf, $n);
    close $fh;
  }
  $n = length($buf);
  print "@@ $k $size $inode $start $n $ck\n", encode_base64($buf, ''), "\n";
  $k++;
}
exit 0;
