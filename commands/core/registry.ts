import type { ActionHandler, Command, Subcommand } from './command.js';

/** Looks commands, subcommands and button actions up by name. Built from the list in commands/index.ts. */
export class Registry {
  readonly #commands = new Map<string, Command>();
  readonly #actions = new Map<string, { command: Command; action: ActionHandler }>();

  constructor(readonly commands: readonly Command[]) {
    for (const c of commands) {
      if (this.#commands.has(c.name)) throw new Error(`command /${c.name} registered twice`);
      this.#commands.set(c.name, c);
      for (const a of c.actions ?? []) {
        if (this.#actions.has(a.id)) throw new Error(`action ${a.id} registered twice`);
        this.#actions.set(a.id, { command: c, action: a });
      }
    }
  }

  command(name: string): Command | undefined {
    return this.#commands.get(name);
  }

  subcommand(command: Command, name: string): Subcommand | undefined {
    return command.subcommands.find((s) => s.name === name);
  }

  action(id: string): { command: Command; action: ActionHandler } | undefined {
    return this.#actions.get(id);
  }

  get actionIds(): string[] {
    return [...this.#actions.keys()];
  }
}
