/**
 * Answers are encoded once: a cut page remembers its JSON text, the router's size check and the connection's writer
 * reuse it, and what goes on the wire is exactly what JSON.stringify would have written. A remembered text serves
 * once, so an object answered again after a change is encoded afresh.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { RequestType } from 'vscode-jsonrpc';
import { cutPage } from '../../daemon/handlers/paging.js';
import { connectionOverStream } from '../../daemon/transport/connection.js';
import { encodeJson, rememberJson } from '../../daemon/transport/json.js';

/** Counts JSON.stringify calls made with `marked` anywhere in what is encoded (through its toJSON). */
function countingRows(count: number): { rows: { id: string; name: string; toJSON(): unknown }[]; encodings: () => number } {
  let encodings = 0;
  const rows = Array.from({ length: count }, (_, index) => ({
    id: `r${index}`,
    name: `server "${index}" \u00e9\n`,
    toJSON(): unknown {
      encodings += 1;
      return { id: this.id, name: this.name };
    },
  }));
  return { rows, encodings: () => encodings };
}

describe('answers encoded once', () => {
  test('a page cut short by its size keeps the text of the rows it holds, for the router and the writer', async () => {
    const filler = 'x'.repeat(100 * 1024);
    let encodings = 0;
    const rows = Array.from({ length: 20 }, (_, index) => ({
      id: `r${index}`,
      toJSON(): unknown {
        encodings += 1;
        return { id: this.id, filler };
      },
    }));
    const page = await cutPage(rows, { limit: 20, toRow: (row) => row, keyOf: (row) => [row.id] });
    assert.ok(page.rows.length < 20 && page.nextCursor !== undefined, 'the page was cut by its size');
    assert.ok(Object.isFrozen(page.rows));
    const afterCut = encodings;
    const result = { servers: page.rows, nextCursor: page.nextCursor };
    const text = encodeJson(result);
    assert.equal(encodings, afterCut, 'the size check did not encode a row again');
    assert.equal(text, JSON.stringify(result));
  });

  test('encodeJson writes what JSON.stringify writes, for shapes an answer may have', () => {
    const values: unknown[] = [
      null,
      0,
      'text "quoted" \u2028',
      [1, undefined, 'a', null],
      { a: 1, b: undefined, c: () => 1, d: { e: [{ f: new Date(0) }], g: null }, h: Symbol('s') },
      { jsonrpc: '2.0', id: 7, result: { servers: [{ handle: 'x' }], nextCursor: 'abc' } },
      Object.assign(Object.create(null) as object, { z: 1 }),
      { toJSON: () => ({ replaced: true }) },
    ];
    for (const value of values) assert.equal(encodeJson(value), JSON.stringify(value));
  });

  test('a remembered text is spliced in where its value appears, once', () => {
    const rows = [{ id: 'a' }];
    rememberJson(rows, '[{"id":"from-cache"}]');
    const message = { jsonrpc: '2.0', id: 1, result: { servers: rows } };
    assert.equal(encodeJson(message), '{"jsonrpc":"2.0","id":1,"result":{"servers":[{"id":"from-cache"}]}}');
    assert.equal(encodeJson(message), JSON.stringify(message), 'the second time the value is encoded afresh');
  });

  test('a page is encoded once between the cut and the wire, and the wire holds exactly its rows', async () => {
    const { rows, encodings } = countingRows(50);
    const page = await cutPage(rows, { limit: 40, toRow: (row) => row, keyOf: (row) => [row.id] });
    assert.equal(encodings(), 40, 'the cut weighs the page with one encoding of each row');
    assert.ok(Object.isFrozen(page.rows), 'the page cannot change after its text was made');

    // A peer that reads what is written and never says anything.
    const chunks: Buffer[] = [];
    const wire = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _encoding, done) => {
        chunks.push(chunk);
        done();
      },
    });
    const connection = connectionOverStream(wire);
    connection.listen();
    const sent = new RequestType<object, void, void>('test/page');
    const result = { servers: page.rows, nextCursor: page.nextCursor };
    // What the router's size check does: encode the answer (reusing the page's text) and remember it for the writer.
    const text = encodeJson(result);
    rememberJson(result, text);
    void connection.sendRequest(sent, result).catch(() => undefined);
    // The frame: a Content-Length header, then that many bytes of body.
    const frame = (): string | undefined => {
      const framed = Buffer.concat(chunks);
      const end = framed.indexOf('\r\n\r\n');
      const length = Number(/Content-Length: (\d+)/.exec(framed.toString('latin1'))?.[1]);
      const body = framed.subarray(end + 4, end + 4 + length);
      return end !== -1 && body.length === length ? body.toString('utf8') : undefined;
    };
    const deadline = Date.now() + 10_000;
    while (frame() === undefined && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(encodings(), 40, 'neither the size check nor the writer encoded a row again');
    const body = frame() ?? assert.fail('the writer sent no whole message');
    assert.deepEqual((JSON.parse(body) as { params: unknown }).params, JSON.parse(JSON.stringify(result)));
    connection.dispose();
  });
});
