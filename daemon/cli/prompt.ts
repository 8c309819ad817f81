import { StringDecoder } from 'node:string_decoder';
import { CliError } from './command.js';

/** The terminal a hidden prompt reads from. */
export interface PromptInput extends NodeJS.ReadableStream {
  readonly isRaw?: boolean;
  setRawMode(mode: boolean): unknown;
}

/** What the terminal sent, cut into lines; `undefined` stands for a cancel (Ctrl-C, Ctrl-D on an empty line, end). */
class HiddenLines {
  private readonly decoder = new StringDecoder('utf8');
  private typed: string[] = [];
  private inEscape = false;
  private readonly ready: (string | undefined)[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;

  /** Takes what the terminal sent: printable characters are kept, never printed. */
  add(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    for (const character of text) {
      if (this.inEscape) {
        // A CSI sequence (arrow keys) ends with a letter or `~`; ESC + a key (Alt-key) ends at that key.
        if (/[A-Za-z~]/.test(character)) this.inEscape = false;
      } else if (character === '\r' || character === '\n') {
        this.push(this.typed.join(''));
      } else if (character === '\u0003' || (character === '\u0004' && this.typed.length === 0)) {
        this.push(undefined);
      } else if (character === '\u007f' || character === '\b') {
        this.typed = this.typed.slice(0, -1);
      } else if (character === '\u0015') {
        this.typed = [];
      } else if (character === '\u001b') {
        this.inEscape = true;
      } else if (character >= ' ') {
        this.typed.push(character);
      }
    }
  }

  /** The terminal closed. */
  end(): void {
    this.push(undefined);
  }

  /** The next line, once Enter is pressed. */
  next(): Promise<string | undefined> {
    if (this.ready.length > 0) return Promise.resolve(this.ready.shift());
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private push(line: string | undefined): void {
    this.typed = [];
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(line);
    else this.ready.push(line);
  }
}

/**
 * Asks for a secret value on a terminal without echoing it: the terminal is in raw mode (the kernel echoes nothing)
 * from before the question shows until the answer is in, and the typed characters are kept, not printed. With
 * `confirm` (passwords) it asks twice, and the two must match. Enter ends a line; backspace and Ctrl-U edit it;
 * Ctrl-C, or Ctrl-D on an empty line, cancels (exit 130).
 */
export async function promptSecret(label: string, confirm: boolean, input: PromptInput, output: NodeJS.WritableStream): Promise<string> {
  const lines = new HiddenLines();
  const onData = (chunk: Buffer | string): void => lines.add(chunk);
  const onEnd = (): void => lines.end();
  const wasRaw = input.isRaw === true;
  input.setRawMode(true);
  input.on('data', onData);
  input.once('end', onEnd);
  input.resume();
  const ask = async (question: string): Promise<string> => {
    output.write(question);
    const line = await lines.next();
    output.write('\n');
    if (line === undefined) throw new CliError('Cancelled; nothing was stored.', 130);
    return line;
  };
  try {
    const value = await ask(label);
    if (value === '') throw new CliError('Nothing was typed; nothing was stored.', 1);
    if (confirm && (await ask('Type it again to confirm: ')) !== value) {
      throw new CliError('The two entries differ; nothing was stored. Run the command again.', 1);
    }
    return value;
  } finally {
    input.off('data', onData);
    input.off('end', onEnd);
    input.setRawMode(wasRaw);
    input.pause();
  }
}
