// How wide a label is in the font resvg draws it with (DejaVu Sans, see chart-png.ts): the chart library lays
// out axes, and we truncate long names, by these widths, so a label fits where it was measured to fit.

/** Advance widths of DejaVu Sans for the characters 32–126, in thousandths of an em (from its hmtx table). */
const DEJAVU_SANS = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636,
  636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295,
  295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838,
  500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521,
  392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];
/** The bold face is about this much wider on average (same table measured on DejaVuSans-Bold). */
const BOLD_FACTOR = 1.1;
/** Anything outside ASCII: about the width of a digit or wider (CJK is 1 em). */
const OTHER = 1000;

/** Width in pixels of `text` at `fontSize` px. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    units += c >= 32 && c < 127 ? (DEJAVU_SANS[c - 32] as number) : OTHER;
  }
  return (units / 1000) * fontSize * (bold ? BOLD_FACTOR : 1);
}

/** The width a CSS-like font string ("bold 12px sans-serif") gives `text`: what the chart library asks. */
export function measureFont(text: string, font: string | undefined): number {
  const size = Number(/(\d+(?:\.\d+)?)px/.exec(font ?? '')?.[1] ?? 12);
  return textWidth(text, size, /\bbold\b|\b[6-9]00\b/.test(font ?? ''));
}

/**
 * `text` shortened in the middle with an ellipsis until it fits `maxPx`: experiment names share long
 * prefixes and differ at the end ("neox-20b-pile-…-lr3e-4-run7"), so both ends stay.
 */
export function truncateMiddle(text: string, maxPx: number, fontSize: number): string {
  if (textWidth(text, fontSize) <= maxPx) return text;
  const chars = [...text];
  let keep = chars.length - 1;
  while (keep > 1) {
    const head = Math.ceil(keep / 2);
    const s = `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (keep - head)).join('')}`;
    if (textWidth(s, fontSize) <= maxPx) return s;
    keep -= 1;
  }
  return '…';
}
