import type { Command } from '../command.js';
import { configCommands } from './config.js';
import { daemonCommands } from './daemon.js';

/** Every CLI command. Each capability adds its area's list here. */
export const COMMANDS: readonly Command[] = [...daemonCommands, ...configCommands];
