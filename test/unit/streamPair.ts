/** In-memory transport for the protocol tests of the fast tier. */
import { Duplex, PassThrough } from 'node:stream';

/**
 * Two connected in-memory stream ends, as vscode-languageserver-node's connection tests make them: what one writes,
 * the other reads. Like a socket, an end whose peer has finished writing finishes too, so either side hears a close.
 */
export function streamPair(): [Duplex, Duplex] {
  const toDaemon = new PassThrough();
  const toClient = new PassThrough();
  const ends: [Duplex, Duplex] = [Duplex.from({ readable: toClient, writable: toDaemon }), Duplex.from({ readable: toDaemon, writable: toClient })];
  for (const end of ends) end.once('end', () => end.end());
  return ends;
}
