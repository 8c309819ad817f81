import path from 'node:path';
import { DEFAULT_RATE_PER_MINUTE, describeSubscription, ENDPOINT_KINDS, NOTIFY_EVENTS, NotifyAdd, NotifyList, NotifyRemove, NotifyTest, receivedEvents, type EndpointSettings, type NotifyEndpoint, type NotifyEventKind } from '../../protocol/notify.js';
import { call, CliError, type Command, type CommandOption, type Flags, integerFlag, listFlag, stringFlag } from '../command.js';
import { requestCommand, theArgument } from '../listing.js';

function required(flags: Flags, name: string, kind: string): string {
  const value = stringFlag(flags, name);
  if (value === undefined) throw new CliError(`A ${kind} endpoint needs --${name}. See: zavhoz notify add --help`, 2);
  return value;
}

/** The endpoint settings of `notify add KIND`, from its flags (credentials by handle only). */
function settingsOf(kind: string, flags: Flags): EndpointSettings {
  switch (kind) {
    case 'webhook':
      return { kind, url: required(flags, 'url', kind), signingKeySecret: required(flags, 'signing-key-secret', kind) };
    case 'slack':
      return { kind, urlSecret: required(flags, 'url-secret', kind) };
    case 'telegram':
      return { kind, botTokenSecret: required(flags, 'bot-token-secret', kind), chatId: required(flags, 'chat-id', kind) };
    case 'email': {
      const to = listFlag(flags, 'to').flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '');
      if (to.length === 0) throw new CliError('An email endpoint needs --to (one or more addresses).', 2);
      const user = stringFlag(flags, 'user');
      const passwordSecret = stringFlag(flags, 'password-secret');
      const caFile = stringFlag(flags, 'ca-file');
      return {
        kind,
        host: required(flags, 'host', kind),
        port: integerFlag(flags, 'port') ?? 587,
        from: required(flags, 'from', kind),
        to,
        ...(user === undefined ? {} : { user }),
        ...(passwordSecret === undefined ? {} : { passwordSecret }),
        // The daemon reads it, from its own working folder: a relative path means this shell's.
        ...(caFile === undefined ? {} : { caFile: path.resolve(caFile) }),
      };
    }
    default:
      throw new CliError(`Unknown endpoint kind "${kind}"; use one of: ${ENDPOINT_KINDS.join(', ')}.`, 2);
  }
}

function eventsOf(flags: Flags): NotifyEventKind[] | undefined {
  const events = listFlag(flags, 'events').flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '');
  if (events.length === 0) return undefined;
  const unknown = events.filter((event) => !(NOTIFY_EVENTS as readonly string[]).includes(event));
  if (unknown.length > 0) throw new CliError(`Unknown event ${unknown.join(', ')}; the events are: ${NOTIFY_EVENTS.join(', ')}.`, 2);
  return events as NotifyEventKind[];
}

/** Where an endpoint sends, without any credential. */
function target(endpoint: NotifyEndpoint): string {
  const settings = endpoint.settings;
  switch (settings.kind) {
    case 'webhook':
      return settings.url;
    case 'slack':
      return `Slack URL ${settings.urlSecret}`;
    case 'telegram':
      return `chat ${settings.chatId}, bot ${settings.botTokenSecret}`;
    case 'email':
      return `${settings.to.join(', ')} via ${settings.host}:${settings.port}`;
  }
}

function describe(endpoint: NotifyEndpoint): string {
  const state = [`${endpoint.pending} pending`, ...(endpoint.failed > 0 ? [`${endpoint.failed} failed`] : []), endpoint.lastDeliveredAt ? `last delivered ${endpoint.lastDeliveredAt}` : 'nothing delivered yet'];
  const lines = [`${endpoint.id}  ${endpoint.name}  ${endpoint.kind}  ${target(endpoint)}`, `  events: ${receivedEvents(endpoint.events).length === NOTIFY_EVENTS.length ? 'all' : describeSubscription(endpoint.events)}`, `  ${state.join(', ')}`];
  if (endpoint.lastError) lines.push(`  last error: ${endpoint.lastError}`);
  return lines.join('\n');
}

const addOptions: Record<string, CommandOption> = {
  name: { type: 'string', value: 'NAME', description: 'A short name for lists and pickers (default: the kind, so a second endpoint of a kind needs one).' },
  events: { type: 'string', multiple: true, value: 'E,E', description: `Events it wants, comma-separated (default all): ${NOTIFY_EVENTS.join(', ')}. service.unhealthy brings proxy.restarted along.` },
  rate: { type: 'string', value: 'N', description: `Most messages a minute (default ${DEFAULT_RATE_PER_MINUTE}); more wait in the queue.` },
  url: { type: 'string', value: 'URL', description: 'Webhook: the receiver (https, or http on loopback).' },
  'signing-key-secret': { type: 'string', value: 'HANDLE', description: 'Webhook: vault handle of the key for the X-Zavhoz-Signature HMAC.' },
  'url-secret': { type: 'string', value: 'HANDLE', description: 'Slack: vault handle of the incoming-webhook URL.' },
  'bot-token-secret': { type: 'string', value: 'HANDLE', description: 'Telegram: vault handle of the bot token (category telegram_bot).' },
  'chat-id': { type: 'string', value: 'ID', description: 'Telegram: the chat id (--chat-id=-100… for a negative one) or @channel the bot writes to.' },
  host: { type: 'string', value: 'HOST', description: 'Email: the SMTP server (STARTTLS is required).' },
  port: { type: 'string', value: 'PORT', description: 'Email: the SMTP port (default 587; 465 for TLS from the start).' },
  user: { type: 'string', value: 'USER', description: 'Email: the SMTP login.' },
  'password-secret': { type: 'string', value: 'HANDLE', description: 'Email: vault handle of the SMTP password.' },
  from: { type: 'string', value: 'ADDRESS', description: 'Email: the sender address.' },
  to: { type: 'string', multiple: true, value: 'ADDRESS', description: 'Email: a recipient (repeat, or comma-separate).' },
  'ca-file': { type: 'string', value: 'PEM', description: "Email: a CA certificate to trust for this server (a private CA), besides the system's." },
};

/** `zavhoz notify add|list|test|remove`. */
export const notifyCommands: Command[] = [
  {
    path: ['notify', 'add'],
    usage: 'zavhoz notify add webhook|slack|telegram|email [--name NAME] [--events E,E] [--rate N] KIND-FLAGS [--json]',
    summary: 'Add a notification endpoint and the events it wants; its credential is a vault handle.',
    examples: [
      'zavhoz notify add telegram --name ops --bot-token-secret sec_7f3k9x2m --chat-id=-1001234567890 --events run.failed,service.unhealthy',
      'zavhoz notify add webhook --url https://hooks.example.com/zavhoz --signing-key-secret sec_a1b2c3d4',
      'zavhoz notify add slack --url-secret sec_q2w3e4r5',
      'zavhoz notify add email --host smtp.example.com --user ops --password-secret sec_z9y8x7w6 --from zavhoz@example.com --to ops@example.com',
    ],
    positionals: [1, 1],
    complete: ENDPOINT_KINDS,
    options: addOptions,
    async run(context) {
      const kind = context.positionals[0] ?? '';
      const endpoint = settingsOf(kind, context.flags);
      const events = eventsOf(context.flags);
      const added = await call(context, NotifyAdd, {
        name: stringFlag(context.flags, 'name') ?? kind,
        endpoint,
        ...(events ? { events } : {}),
        ...(integerFlag(context.flags, 'rate') === undefined ? {} : { ratePerMinute: integerFlag(context.flags, 'rate') }),
      });
      context.print(added, () => `Added ${added.id} (${added.name}). Try it with: zavhoz notify test ${added.id}`);
    },
  },
  requestCommand({
    path: ['notify', 'list'],
    usage: 'zavhoz notify list [--json]',
    summary: 'List notification endpoints, the events each wants and how its deliveries stand.',
    examples: ['zavhoz notify list', 'zavhoz notify list --json'],
    positionals: [0, 0],
    request: NotifyList,
    params: () => ({}),
    shown: (result) => result.endpoints,
    human: ({ endpoints }) => (endpoints.length === 0 ? 'No notification endpoints. Add one with: zavhoz notify add --help' : endpoints.map(describe).join('\n')),
  }),
  requestCommand({
    path: ['notify', 'test'],
    usage: 'zavhoz notify test ID [--json]',
    summary: 'Send a test message to an endpoint now and say whether it arrived.',
    examples: ['zavhoz notify test ntf_7f3k9x2mab'],
    positionals: [1, 1],
    request: NotifyTest,
    params: (context) => ({ id: theArgument(context) }),
    human: (result, context) => (result.delivered ? `Delivered a test message to ${theArgument(context)}.` : `Not delivered: ${result.error ?? 'unknown error'}`),
    exitCode: (result) => (result.delivered ? 0 : 1),
  }),
  requestCommand({
    path: ['notify', 'remove'],
    usage: 'zavhoz notify remove ID [--json]',
    summary: 'Remove a notification endpoint and drop the messages still queued for it.',
    examples: ['zavhoz notify remove ntf_7f3k9x2mab'],
    positionals: [1, 1],
    request: NotifyRemove,
    params: (context) => ({ id: theArgument(context) }),
    human: (result, context) => `Removed ${theArgument(context)}${result.dropped > 0 ? `; ${result.dropped} queued message(s) dropped` : ''}.`,
  }),
];
