import fs from 'node:fs';
import {
  SECRET_CATEGORIES,
  SECRET_TYPES,
  type SecretMetadata,
  SecretsDelete,
  SecretsGenerate,
  SecretsGet,
  SecretsImport,
  SecretsList,
  SecretsReveal,
  SecretsRotate,
  SecretsSet,
  type SecretType,
} from '../../protocol/secrets.js';
import type { RequestParams } from '../../protocol/define.js';
import { type Command, type CommandContext, CliError, integerFlag, listFlag, stringFlag, withClient } from '../command.js';
import { PagedTable, listPages, printPages, requestCommand, theArgument } from '../listing.js';
import { type EnvFileEntry, EnvFileError, importableText, plainSecretEntries, readEnvFile, withReferences } from '../../protocol/envReferences.js';
import { replaceFileAtomically } from '../../exec/replaceFile.js';

function readEntries(file: string, content: string): EnvFileEntry[] {
  try {
    return readEnvFile(content);
  } catch (error) {
    if (error instanceof EnvFileError) throw new CliError(`${file}: ${error.message} Nothing was imported.`);
    throw error;
  }
}

/** Replaces the .env file with its referencing text: a temporary file beside it (same mode), synced, renamed over it. */
function replaceFile(file: string, text: string): void {
  try {
    replaceFileAtomically(file, text);
  } catch (error) {
    throw new CliError(`The values are stored, but ${file} could not be rewritten (${(error as Error).message}); it is unchanged. Run the import with --replace again.`);
  }
}

/** `echo value | zavhoz …` adds a newline the user did not mean; a key file keeps its own. */
function stripFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/**
 * The value to store: typed at a hidden prompt when stdin is a terminal (twice for a password), else all of stdin as
 * before. A private key has many lines, so it always comes through stdin (`< key-file`).
 */
async function readValue(context: CommandContext, type: SecretType, name: string): Promise<string> {
  if (context.interactive && type !== 'private_key') {
    return context.promptSecret(`Value of ${name} (${type}; typing is not shown): `, { confirm: type === 'password' });
  }
  const text = await context.readStdin();
  return type === 'private_key' ? text : stripFinalNewline(text);
}

function readPassphrase(context: CommandContext): string | undefined {
  const file = stringFlag(context.flags, 'passphrase-file');
  if (file === undefined) return undefined;
  try {
    return stripFinalNewline(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`Cannot read the passphrase file ${file}: ${(error as Error).message}.`);
  }
}

function choice<T extends string>(context: CommandContext, flag: string, allowed: readonly T[]): T | undefined {
  const value = stringFlag(context.flags, flag);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`--${flag} must be one of ${allowed.join(', ')}; got "${value}".`, 2);
  return value as T;
}

/** The describing flags, as `secrets/set` and `secrets/generate` take them. */
function describing(context: CommandContext): Pick<RequestParams<typeof SecretsSet>, 'category' | 'project' | 'tags' | 'expiresAt' | 'rotationDays' | 'location'> {
  const category = choice(context, 'category', SECRET_CATEGORIES);
  const project = stringFlag(context.flags, 'project');
  const tags = listFlag(context.flags, 'tag');
  const expires = stringFlag(context.flags, 'expires');
  const rotationDays = integerFlag(context.flags, 'rotate-every');
  let expiresAt: string | undefined;
  if (expires !== undefined) {
    const time = new Date(expires);
    if (Number.isNaN(time.getTime())) throw new CliError(`--expires must be a date like 2027-01-31; got "${expires}".`, 2);
    expiresAt = time.toISOString();
  }
  if (context.flags.team === true && context.flags.personal === true) throw new CliError('Give --team or --personal, not both.', 2);
  const location = context.flags.team === true ? 'team' : context.flags.personal === true ? 'personal' : undefined;
  return {
    ...(location === undefined ? {} : { location }),
    ...(category === undefined ? {} : { category }),
    ...(project === undefined ? {} : { project }),
    ...(tags.length === 0 ? {} : { tags }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(rotationDays === undefined ? {} : { rotationDays }),
  };
}

function secretTable(): PagedTable<SecretMetadata> {
  return new PagedTable(['HANDLE', 'NAME', 'TYPE', 'CATEGORY', 'PROJECT', 'UPDATED'], (secret) => [
    secret.handle,
    secret.name,
    secret.type,
    secret.category,
    secret.project ?? '-',
    secret.updatedAt.slice(0, 19).replace('T', ' '),
  ]);
}

function details(secret: SecretMetadata): string {
  return [
    `handle       ${secret.handle}`,
    `name         ${secret.name}`,
    `type         ${secret.type}${secret.hasPassphrase ? ' (with passphrase)' : ''}`,
    `category     ${secret.category}`,
    `project      ${secret.project ?? '-'}`,
    `tags         ${secret.tags.join(', ') || '-'}`,
    `origin       ${secret.origin}`,
    `kept in      ${secret.location === 'team' ? "the team's Vault" : 'your keychain'}`,
    `version      ${secret.version}`,
    `fingerprint  ${secret.fingerprint.slice(0, 16)}`,
    `updated      ${secret.updatedAt}`,
    `last used    ${secret.lastUsedAt ?? 'never'}`,
    ...(secret.expiresAt ? [`expires      ${secret.expiresAt}`] : []),
    ...(secret.rotationDays ? [`rotate every ${secret.rotationDays} days`] : []),
    ...(secret.previous ? [`previous     version ${secret.previous.version}, kept until ${secret.previous.keptUntil} (or the next successful deploy)`] : []),
  ].join('\n');
}

const categoryOption = { type: 'string', value: 'CATEGORY', choices: SECRET_CATEGORIES, description: `What the secret is for: ${SECRET_CATEGORIES.join(', ')}.` } as const;
const projectOption = { type: 'string', value: 'PROJECT', description: 'The project the secret belongs to.' } as const;

const describingOptions = {
  category: categoryOption,
  project: projectOption,
  tag: { type: 'string', multiple: true, value: 'TAG', description: 'A free-form tag for finding the secret later.' },
  expires: { type: 'string', value: 'DATE', description: 'When the value stops working (e.g. 2027-01-31); shown as a warning before then.' },
  'rotate-every': { type: 'string', value: 'DAYS', description: 'Remind to rotate the value every DAYS days.' },
  team: { type: 'boolean', description: "Keep the value in the team's Vault (zavhoz vault connect hashicorp); the default with ZAVHOZ_VAULT=hashicorp." },
  personal: { type: 'boolean', description: 'Keep the value in your own keychain even when ZAVHOZ_VAULT=hashicorp makes team the default.' },
} as const;

const generateOptions = {
  generate: { type: 'boolean', description: 'Generate a random password or token instead of reading a value.' },
  length: { type: 'string', value: 'N', description: 'Length of the generated value (with --generate).' },
  'passphrase-file': { type: 'string', value: 'FILE', description: "A file holding the private key's passphrase (never on the command line)." },
} as const;

/** `zavhoz secret …`: values go in through stdin (or are generated) and come out only through `reveal --yes`. */
export const secretCommands: Command[] = [
  {
    path: ['secret', 'set'],
    usage: 'zavhoz secret set NAME --type password|token|text|private_key [--category C] [--project P] [--tag x]… [--generate [--length N]] [--passphrase-file F] [--expires DATE] [--rotate-every DAYS] [--team|--personal]   (value typed at a hidden prompt on a terminal, else read from stdin)',
    summary: 'Store a secret (typed at a hidden prompt, piped on stdin, or generated) and print its handle.',
    examples: [
      'zavhoz secret set DB_PASSWORD --type password --project shop      # asks twice, shows nothing',
      'zavhoz secret set DB_PASSWORD --type password --project shop --generate --length 32',
      'zavhoz secret set DEPLOY_KEY --type private_key --category server < ~/.ssh/id_ed25519',
      "zavhoz secret set STRIPE_KEY --type token --project shop --team       # kept in the team's Vault",
    ],
    positionals: [1, 1],
    options: {
      ...describingOptions,
      type: { type: 'string', value: 'TYPE', choices: SECRET_TYPES, description: `What kind of value: ${SECRET_TYPES.join(', ')} (required).` },
      ...generateOptions,
    },
    async run(context) {
      const name = context.positionals[0] ?? '';
      const type = choice(context, 'type', SECRET_TYPES);
      if (type === undefined) throw new CliError(`--type is required: one of ${SECRET_TYPES.join(', ')}.`, 2);
      const common = { name, ...describing(context) };
      let secret: SecretMetadata;
      if (context.flags.generate === true) {
        if (type !== 'password' && type !== 'token') throw new CliError('--generate makes passwords and tokens only; pipe other values in on stdin.', 2);
        const length = integerFlag(context.flags, 'length');
        secret = await withClient(context, (client) => client.request(SecretsGenerate, { ...common, type, ...(length === undefined ? {} : { length }) }));
      } else {
        if (context.flags.length !== undefined) throw new CliError('--length goes with --generate.', 2);
        const value = await readValue(context, type, name);
        const passphrase = readPassphrase(context);
        secret = await withClient(context, (client) => client.request(SecretsSet, { ...common, type, value, ...(passphrase === undefined ? {} : { passphrase }) }));
      }
      context.print(secret, () => secret.handle);
    },
  },
  {
    path: ['secret', 'list'],
    usage: 'zavhoz secret list [--project P] [--category C] [--tag x] [--json]',
    summary: 'List secrets: handles and metadata, never values.',
    examples: ['zavhoz secret list --project shop', 'zavhoz secret list --category telegram_bot --json'],
    options: {
      project: { ...projectOption, description: "Only this project's secrets." },
      category: { ...categoryOption, description: `Only this category: ${SECRET_CATEGORIES.join(', ')}.` },
      tag: { type: 'string', value: 'TAG', description: 'Only secrets with this tag.' },
    },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      const category = choice(context, 'category', SECRET_CATEGORIES);
      const tag = stringFlag(context.flags, 'tag');
      const filter = { ...(project === undefined ? {} : { project }), ...(category === undefined ? {} : { category }), ...(tag === undefined ? {} : { tag }) };
      const table = secretTable();
      await printPages(context, listPages(context, SecretsList, filter, (page) => page.secrets), { empty: 'No secrets.', lines: (secrets, first) => table.lines(secrets, first) });
    },
  },
  requestCommand({
    path: ['secret', 'get'],
    usage: 'zavhoz secret get HANDLE [--json]',
    summary: "Show one secret's metadata (not its value).",
    examples: ['zavhoz secret get sec_ab12cd34'],
    positionals: [1, 1],
    request: SecretsGet,
    params: (context) => ({ handle: theArgument(context) }),
    human: details,
  }),
  {
    path: ['secret', 'reveal'],
    usage: 'zavhoz secret reveal HANDLE --yes [--json]',
    summary: 'Print a secret value (written to the audit log). --yes confirms you mean it.',
    examples: ['zavhoz secret reveal sec_ab12cd34 --yes'],
    positionals: [1, 1],
    options: { yes: { type: 'boolean', description: 'Confirm that the value may be printed in clear.' } },
    async run(context) {
      if (context.flags.yes !== true) throw new CliError('reveal prints the secret value in clear; add --yes to confirm (the reveal is written to the audit log).', 2);
      const revealed = await withClient(context, (client) => client.request(SecretsReveal, { handle: context.positionals[0] ?? '', confirm: true }));
      if (context.json) context.print(revealed, () => '');
      else process.stdout.write(process.stdout.isTTY && !revealed.value.endsWith('\n') ? `${revealed.value}\n` : revealed.value);
    },
  },
  {
    path: ['secret', 'rotate'],
    usage: 'zavhoz secret rotate HANDLE [--generate] [--length N] [--passphrase-file F]   (generated secrets get a new value; others ask for it on a terminal, else read stdin, unless --generate)',
    summary: 'Replace a value; the old one is kept until the next successful deploy or 7 days.',
    examples: ['zavhoz secret rotate sec_ab12cd34                 # asks for the new value on a terminal', 'zavhoz secret rotate sec_ab12cd34 --generate --length 40'],
    positionals: [1, 1],
    options: generateOptions,
    async run(context) {
      const handle = context.positionals[0] ?? '';
      const length = integerFlag(context.flags, 'length');
      const generate = context.flags.generate === true;
      const secret = await withClient(context, async (client) => {
        const current = await client.request(SecretsGet, { handle });
        const generated = (current.type === 'password' || current.type === 'token') && current.origin === 'generated';
        if (generated || generate) {
          return client.request(SecretsRotate, { handle, ...(generate ? { generate } : {}), ...(length === undefined ? {} : { length }) });
        }
        if (length !== undefined) throw new CliError(`${handle} holds a value you gave; --length goes with --generate.`, 2);
        const value = await readValue(context, current.type, current.name);
        const passphrase = readPassphrase(context);
        return client.request(SecretsRotate, { handle, value, ...(passphrase === undefined ? {} : { passphrase }) });
      });
      context.print(secret, () => `rotated ${secret.handle} (${secret.name}) to version ${secret.version}; the previous value is kept until the next successful deploy or 7 days (longer while a release uses it)`);
    },
  },
  requestCommand({
    path: ['secret', 'delete'],
    usage: 'zavhoz secret delete HANDLE [--json]',
    summary: 'Delete a secret from the keychain and the store.',
    examples: ['zavhoz secret delete sec_ab12cd34'],
    positionals: [1, 1],
    request: SecretsDelete,
    params: (context) => ({ handle: theArgument(context) }),
    human: (deleted) => `deleted ${deleted.handle} (${deleted.name})`,
  }),
  {
    path: ['secret', 'import'],
    usage: 'zavhoz secret import FILE.env [--project P] [--category C] [--replace [--keep NAME]…] [--json]',
    summary: 'Import every variable of a .env file (all or nothing); prints NAME → handle.',
    examples: ['zavhoz secret import .env.production --project shop', 'zavhoz secret import .env --project shop --replace --keep NODE_ENV      # the file then holds zavhoz:sec_… references'],
    positionals: [1, 1],
    complete: 'file',
    options: {
      project: { ...projectOption, description: 'The project the imported secrets belong to.' },
      category: categoryOption,
      replace: { type: 'boolean', description: 'Then rewrite the file so each stored value is a reference (NAME=zavhoz:sec_…), atomically; values under 4 characters stay.' },
      keep: { type: 'string', multiple: true, value: 'NAME', description: 'With --replace: leave this variable as written and do not store it (e.g. PORT).' },
      team: { ...describingOptions.team, description: "Keep new values in the team's Vault (changed ones stay where they are)." },
      personal: describingOptions.personal,
    },
    async run(context) {
      const file = context.positionals[0] ?? '';
      let content: string;
      try {
        content = fs.readFileSync(file, 'utf8');
      } catch (error) {
        throw new CliError(`Cannot read ${file}: ${(error as Error).message}.`);
      }
      const replace = context.flags.replace === true;
      const keep = new Set(listFlag(context.flags, 'keep'));
      if (keep.size > 0 && !replace) throw new CliError('--keep goes with --replace.', 2);
      const entries = replace ? readEntries(file, content) : [];
      if (replace && plainSecretEntries(entries, keep).length === 0) {
        context.print({ handles: {}, created: [], updated: [], unchanged: [], replaced: false }, () => `${file} holds no values to store (only references, short or kept values, comments); nothing to import.`);
        return;
      }
      const project = stringFlag(context.flags, 'project');
      const category = choice(context, 'category', SECRET_CATEGORIES);
      const { location } = describing(context);
      const result = await withClient(context, (client) =>
        client.request(SecretsImport, {
          ...(location === undefined ? {} : { location }),
          content: replace ? importableText(content, entries, keep) : content,
          ...(project === undefined ? {} : { project }),
          ...(category === undefined ? {} : { category }),
        }),
      );
      // Only once the values are stored: a failed import leaves the file as it was.
      if (replace) replaceFile(file, withReferences(content, entries, result.handles, keep));
      const outcome = (name: string): string =>
        result.created.includes(name) ? 'created' : result.updated.includes(name) ? 'updated' : 'unchanged';
      context.print(replace ? { ...result, replaced: true } : result, () =>
        [
          ...Object.entries(result.handles).map(([name, handle]) => `${name} → ${handle} (${outcome(name)})`),
          ...(replace ? [`${file} now holds references instead of these values (zavhoz exec --env-file ${file} -- … gives them to a command).`] : []),
        ].join('\n'),
      );
    },
  },
];
