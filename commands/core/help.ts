import type { Reply } from '../../src/reply.js';
import type { Command, Subcommand } from './command.js';
import type { Registry } from './registry.js';

const needs = (s: Subcommand) => (s.permission === 'operate' ? 'operators only' : 'everyone');
const where = (s: Subcommand) => (s.surfaces && s.surfaces.length === 1 ? ` (${s.surfaces[0]} only)` : '');

export function registryHelp(registry: Registry): Reply {
  return {
    level: 'info',
    title: 'Commands',
    text: 'Type `/<command> help` or `/<command> <subcommand> --help` for details.',
    table: {
      columns: ['usage', 'what it does'],
      rows: registry.commands.flatMap((c) => c.subcommands.map((s) => [s.usage, `${s.summary}${where(s)}`])),
    },
    context: ['From a terminal: `chatops <command> <subcommand> [args] [--json]`, or `chatops console`.'],
    ephemeral: true,
    data: {
      commands: registry.commands.map((c) => ({
        name: c.name,
        summary: c.summary,
        subcommands: c.subcommands.map(describe),
      })),
    },
  };
}

export function commandHelp(command: Command): Reply {
  return {
    level: 'info',
    title: `/${command.name}`,
    text: command.summary,
    table: {
      columns: ['usage', 'what it does', 'who'],
      rows: command.subcommands.map((s) => [s.usage, `${s.summary}${where(s)}`, needs(s)]),
    },
    context: [`\`/${command.name} help <subcommand>\` for details.`],
    ephemeral: true,
    data: { name: command.name, summary: command.summary, subcommands: command.subcommands.map(describe) },
  };
}

export function subcommandHelp(command: Command, sub: Subcommand): Reply {
  return {
    level: 'info',
    title: `/${command.name} ${sub.name}`,
    text: `${sub.summary}\n\n${sub.help}`,
    context: [`Usage: ${sub.usage}`, `Who may run it: ${needs(sub)}${where(sub)}`],
    ephemeral: true,
    data: { command: command.name, ...describe(sub), help: sub.help },
  };
}

function describe(s: Subcommand) {
  return { name: s.name, summary: s.summary, usage: s.usage, permission: s.permission };
}
