#!/usr/bin/perl
# The perl reader of pipeline-scan.sh (run there as `perl -e "$SCAN_WORKER_PL" -- …`): per log, one open,
# one read of the first 4 KB and one of the last 4 KB (a single read when they overlap), the lines picked
# out of both windows, and the decision whether the log must be read whole. It gives exactly the records of
# the script's GNU reader (partial edge lines included), so both engines count the same.
#
# Operands:   X-LIST H-LIST HEAD TAIL
#               X-LIST  file to write the names of the logs to read whole, one a line
#               H-LIST  file to write the names of the logs whose first 4 KB has no "Experiment:" line
#               HEAD    fixed strings separated by "|": lines of the first 4 KB worth returning
#               TAIL    fixed strings separated by "|": lines of the last 4 KB worth returning
# Stdin:      the logs to read, one "NAME SIZE" line each (NAME relative to the current directory); a log
#             that cannot be opened is skipped.
# Output:     tab-separated records, per log in stdin order:
#               H  JOBID  LINE    a HEAD line of the first 4 KB (cut to 1000 bytes)
#               T  JOBID  LINE    a TAIL line of the last 4 KB (cut to 1000 bytes)
#               X  NAME           the log must be read whole (also written to X-LIST)
#             JOBID is NAME without "checkpoint_pipeline_" and ".out".
# Exit codes: 0 done; 2 bad operands; 7 X-LIST or H-LIST cannot be written.
#
# Read whole: a log with no "Pipeline completed at … with exit code N" line in its last 4 KB (still running),
# a failed one whose window shows no 429 ("429" with "HfHubHTTPError" or "429 Client Error"), or a succeeded
# one whose window shows no "Successfully uploaded" line.
use strict;
use warnings;

my $HEAD_BYTES = 4096;
my $TAIL_BYTES = 4096;
my $MAX_LINE   = 1000;

if (@ARGV != 4) {
  print STDERR "usage: scan-worker.pl X-LIST H-LIST HEAD TAIL\n";
  exit 2;
}
my ($x_list, $h_list, $head_list, $tail_list) = @ARGV;

# One regex from a "|"-separated list of fixed strings.
sub alternation {
  my @fixed = grep { length } split /\|/, $_[0];
  if (!@fixed) {
    print STDERR "scan-worker.pl: an empty pattern list\n";
    exit 2;
  }
  my $alt = join '|', map { quotemeta } @fixed;
  return qr/$alt/;
}
my $head_re = alternation($head_list);
my $tail_re = alternation($tail_list);

# The whole lines of ${$buf} holding a match of $re, each once, in order.
sub matching_lines {
  my ($buf, $re) = @_;
  my @lines;
  while ($$buf =~ /$re/g) {
    my $from = rindex($$buf, "\n", $-[0]) + 1;
    my $to   = index($$buf, "\n", $-[0]);
    $to = length($$buf) if $to < 0;
    push @lines, substr($$buf, $from, $to - $from);
    pos($$buf) = $to;
  }
  return @lines;
}

# The first and the last window of one log; the last one takes what the first read holds when they overlap.
sub windows {
  my ($f) = @_;
  my $size = -s $f;
  my $head = '';
  sysread($f, $head, $HEAD_BYTES);
  my $tail = $head;
  if ($size > $HEAD_BYTES) {
    my $start = $size - $TAIL_BYTES;
    if ($start < $HEAD_BYTES) {
      $tail  = substr($head, $start);
      $start = $HEAD_BYTES;
    } else {
      $tail = '';
    }
    sysseek($f, $start, 0);
    my $rest = '';
    sysread($f, $rest, $size - $start);
    $tail .= $rest;
  } elsif ($size > $TAIL_BYTES) {
    $tail = substr($head, $size - $TAIL_BYTES);
  }
  return ($head, $tail);
}

open(my $X, '>', $x_list) or exit 7;
open(my $H, '>', $h_list) or exit 7;
my $out = '';
while (my $l = <STDIN>) {
  chomp $l;
  my ($name) = split / /, $l;
  next if !defined $name;
  open(my $f, '<:raw', $name) or next;
  my ($head, $tail) = windows($f);
  close($f);
  my $id = substr($name, 20, -4);
  my $experiment = 0;
  for my $x (matching_lines(\$head, $head_re)) {
    $experiment = 1 if index($x, 'Experiment:') >= 0;
    $out .= "H\t$id\t" . substr($x, 0, $MAX_LINE) . "\n";
  }
  my ($ok, $uploaded, $r429);
  for my $x (matching_lines(\$tail, $tail_re)) {
    $out .= "T\t$id\t" . substr($x, 0, $MAX_LINE) . "\n";
    if (index($x, 'Pipeline completed at') >= 0 && $x =~ /with exit code -?[0-9]+/) {
      $ok = ($x =~ /with exit code 0[^0-9]*$/) ? 1 : 0;
    } elsif (index($x, 'Successfully uploaded') >= 0) {
      $uploaded = 1;
    } elsif (index($x, '429') >= 0 && (index($x, 'HfHubHTTPError') >= 0 || index($x, '429 Client Error') >= 0)) {
      $r429 = 1;
    }
  }
  print $H "$name\n" unless $experiment;
  if (!defined($ok) || ($ok && !$uploaded) || (!$ok && !$r429)) {
    print $X "$name\n";
    $out .= "X\t$name\n";
  }
  if (length($out) > 65536) {
    print $out;
    $out = '';
  }
}
print $out;
close($X) or exit 7;
close($H) or exit 7;
exit 0;
