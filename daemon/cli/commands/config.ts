import { SettingSchemas, SettingsGet, SettingsSet, type SettingKey } from '../../protocol/settings.js';
import { type Command, CliError } from '../command.js';

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a bare word is a string
  }
}

/** `zavhoz config get|set`: daemon-wide settings. */
export const configCommands: Command[] = [
  {
    path: ['config', 'get'],
    usage: 'zavhoz config get [KEY] [--json]',
    summary: 'Show all settings, or one.',
    examples: ['zavhoz config get', 'zavhoz config get agentDeployProjects'],
    complete: Object.keys(SettingSchemas),
    positionals: [0, 1],
    async run(context) {
      const client = await context.connect();
      try {
        const settings = await client.request(SettingsGet, {});
        const key = context.positionals[0];
        if (key !== undefined) {
          if (!(key in SettingSchemas)) throw new CliError(`Unknown setting "${key}". Known: ${Object.keys(SettingSchemas).join(', ')}.`, 2);
          const value = settings[key as SettingKey];
          context.print(value, () => JSON.stringify(value));
          return;
        }
        context.print(settings, () =>
          Object.entries(settings)
            .map(([name, value]) => `${name} = ${JSON.stringify(value)}`)
            .join('\n'),
        );
      } finally {
        client.close();
      }
    },
  },
  {
    path: ['config', 'set'],
    usage: 'zavhoz config set KEY VALUE [--drop-ghosts]   (VALUE is JSON, e.g. 30 or \'["my-laptop"]\')',
    summary:
      'Change a setting. ghostServers is the list `server ghost` and `server manage` edit: a new list that leaves out a current ghost is refused ' +
      'unless --drop-ghosts, so no ghost quietly becomes managed.',
    examples: ['zavhoz config set agentDeployProjects \'["shop"]\'', 'zavhoz config set ghostServers \'["my-laptop","old-desktop"]\''],
    options: {
      'drop-ghosts': {
        type: 'boolean',
        description: 'With ghostServers: let the new list leave out current ghosts, which become managed (offered to automation) again.',
      },
    },
    positionals: [2, 2],
    async run(context) {
      const [key, text] = context.positionals as [string, string];
      if (!(key in SettingSchemas)) throw new CliError(`Unknown setting "${key}". Known: ${Object.keys(SettingSchemas).join(', ')}.`, 2);
      const client = await context.connect();
      try {
        const dropGhosts = context.flags['drop-ghosts'] === true;
        const settings = await client.request(SettingsSet, { key: key as SettingKey, value: parseValue(text), ...(dropGhosts ? { dropGhosts } : {}) });
        context.print(settings, () => `${key} = ${JSON.stringify(settings[key as SettingKey])}`);
      } finally {
        client.close();
      }
    },
  },
];
