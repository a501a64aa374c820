// Hostile input: strings that try to run `touch <canary>` (command substitution, separators, newlines,
// option injection such as `--wrap=` as an operand, quotes), to reach outside a root (traversal, a symlink
// named `escape` out of the checkpoint root), or are just large, binary or unicode; and the command shapes
// they are dropped into. Shared by test/integration/faults/hostile-input.test.ts and bench/faults.ts.

export function hostileStrings(canary: string): string[] {
  const run = `touch ${canary}`;
  return [
    `$(${run})`,
    `\`${run}\``,
    `;${run}`,
    `; ${run}`,
    `| ${run}`,
    `&& ${run}`,
    `|| ${run}`,
    `x\n${run}`,
    `x\r\n${run}`,
    `' ; ${run} ; '`,
    `" ; ${run} ; "`,
    `x'$(${run})'`,
    `x"$(${run})"`,
    `$(IFS=_;c=touch_${canary};$c)`,
    `--wrap=${run}`,
    `--wrap="${run}"`,
    `-o /dev/null --wrap=${run}`,
    `--output=${canary}`,
    `--comment=$(${run})`,
    `-e ${canary}`,
    `--export=ALL,LD_PRELOAD=${canary}`,
    '../../../../etc/passwd',
    `../../../..${canary}`,
    '/etc/passwd',
    'exp/../../../etc',
    'exp%2F..%2F..%2Fetc',
    'escape',
    'escape/global_step1',
    `x\u0000${run}`,
    'exp\u0000',
    '\u001b[31mred\u001b[0m',
    '\u202eexp\u202d',
    'x'.repeat(5_000),
    'ü'.repeat(400),
    '🚀🔥'.repeat(50),
    '*',
    '[a-z]*',
    '~root',
    '$HOME',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the payload is a literal shell expansion
    '${PATH}',
    '-',
    '--',
    `--help=$(${run})`,
    '-rf /',
    `123;${run}`,
    `123 && ${run}`,
    `123$(${run})`,
    '99999999999999999999999',
    '-1',
    `global_step1;${run}`,
  ];
}

/** Command shapes a payload is dropped into (the payload replaces P). */
export const SHAPES = [
  'train status P',
  'train logs P',
  'train cancel P',
  'train submit P',
  'train list P',
  'ckpt status P',
  'ckpt upload P',
  'ckpt upload exp-a --steps P',
  'ckpt retry P',
  'ckpt list P',
  'digest P',
  'P',
];

const split = (text: string): [string, string] => {
  const [first, ...rest] = text.split(' ');
  return [`/${first}`, rest.join(' ')];
};

/** Each delivered payload: the slash command and its text. */
export function deliveries(canary: string): { command: string; text: string }[] {
  const out: { command: string; text: string }[] = [];
  for (const shape of SHAPES) {
    for (const h of hostileStrings(canary)) {
      if (shape === 'P') {
        out.push({ command: '/train', text: h });
        out.push({ command: '/ckpt', text: h });
      } else {
        const [command, text] = split(shape.replace('P', () => h));
        out.push({ command, text });
      }
    }
  }
  return out;
}
