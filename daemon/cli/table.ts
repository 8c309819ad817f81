import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { completionCommand } from './completion.js';

/** Every command the CLI runs: the areas' commands and `completion`, which is generated from all of them. */
export const CLI_COMMANDS: readonly Command[] = [...COMMANDS, completionCommand(() => CLI_COMMANDS)];
