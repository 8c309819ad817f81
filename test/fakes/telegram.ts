/**
 * TEST DOUBLE: a loopback stand-in for the Telegram Bot API (https://api.telegram.org), used because the real one
 * cannot be reached from tests. Like the real one: `POST /bot<token>/sendMessage` with a JSON body; a wrong token is
 * 401 `{"ok":false,"error_code":401,"description":"Unauthorized"}`; an unknown chat 400 "chat not found"; a flood
 * limit is 429 with `parameters.retry_after` (queued with `fail`).
 */
import { type HttpReceiver, startHttpReceiver } from './httpReceiver.js';

/** A message the fake bot sent. */
export interface TelegramMessage {
  readonly chatId: string;
  readonly text: string;
}

/** A running fake Bot API: put `url` in the `telegramApiBase` setting. */
export interface FakeTelegram extends HttpReceiver {
  /** Messages sent, in order. */
  messages(): TelegramMessage[];
}

/** Starts the fake for one bot `token`, knowing the chats in `chats`. */
export async function startFakeTelegram(token: string, chats: readonly string[]): Promise<FakeTelegram> {
  const receiver = await startHttpReceiver(
    (request) => {
      if (request.path !== `/bot${token}/sendMessage`) return { status: 401, body: JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }) };
      const body = JSON.parse(request.body) as { chat_id?: unknown; text?: unknown };
      if (!chats.includes(String(body.chat_id))) return { status: 400, body: JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: chat not found' }) };
      if (typeof body.text !== 'string' || body.text === '') return { status: 400, body: JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: message text is empty' }) };
      return undefined;
    },
    (request) => JSON.stringify({ ok: true, result: { message_id: 1, text: (JSON.parse(request.body) as { text: string }).text } }),
  );
  return Object.assign(receiver, {
    messages: () => receiver.accepted.map((request) => {
      const body = JSON.parse(request.body) as { chat_id: unknown; text: string };
      return { chatId: String(body.chat_id), text: body.text };
    }),
  });
}
