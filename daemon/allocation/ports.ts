import { FIRST_ALLOCATED_PORT } from '../protocol/allocations.js';

const PORT_COUNT = 65_536;
const FULL_WORD = 0xffff_ffff;
/** The bitmap of a server starts at the word holding FIRST_ALLOCATED_PORT: ports below are never searched. */
const BASE_WORD = FIRST_ALLOCATED_PORT >>> 5;
/** Words a new server's bitmap starts with (64 ports); it doubles as ports further up are taken. */
const INITIAL_WORDS = 2;

interface ServerPorts {
  /** Bits of ports from BASE_WORD × 32 up; a word past the end is all free. */
  bits: Uint32Array;
  /** Allocated ports below the bitmap (never chosen by the allocator, but possible in a restored table). */
  below?: Set<number>;
  /** Every port from FIRST_ALLOCATED_PORT below this one is allocated. */
  low: number;
}

/** Bit `port` of a server's map. */
function bitOf(ports: ServerPorts, port: number): boolean {
  const word = (port >>> 5) - BASE_WORD;
  if (word < 0) return ports.below?.has(port) ?? false;
  return ((ports.bits[word] ?? 0) & (1 << (port & 31))) !== 0;
}

/**
 * Which ports are allocated on each server, kept in memory as one bitmap per server so the next free port is found
 * without reading the allocations table: the search starts at the lowest port not yet allocated and skips full
 * 32-port words, so its cost does not grow with the number of allocations. A bitmap covers only the ports from
 * FIRST_ALLOCATED_PORT up to the highest one taken, so a server with a few allocations costs a few bytes, not 8 KiB.
 * Rebuilt from the table on start; the table's UNIQUE(server, port) stays the last word.
 */
export class PortMap {
  private readonly servers = new Map<string, ServerPorts>();
  /** Candidates looked at by the scan running now (take's scans count here too). */
  private scanned = 0;
  /** Candidates looked at by the last firstFree. */
  private steps = 0;

  /**
   * How many candidates (single ports, or whole allocated 32-port words skipped at once) the last {@link firstFree}
   * looked at. Tests and the benchmark read it to prove the search does not grow with the number of allocations.
   */
  get lastSearchSteps(): number {
    return this.steps;
  }

  /** Replaces everything with the given allocations (daemon start). */
  load(entries: Iterable<{ readonly server: string; readonly port: number }>): void {
    this.servers.clear();
    for (const entry of entries) this.take(entry.server, entry.port);
  }

  /** True if `port` is allocated on `server`. */
  isTaken(server: string, port: number): boolean {
    const ports = this.servers.get(server);
    return ports ? bitOf(ports, port) : false;
  }

  /** Marks a port allocated. */
  take(server: string, port: number): void {
    const ports = this.of(server);
    const word = (port >>> 5) - BASE_WORD;
    if (word < 0) {
      (ports.below ??= new Set()).add(port);
      return;
    }
    if (word >= ports.bits.length) {
      let length = ports.bits.length;
      while (length <= word) length *= 2;
      const grown = new Uint32Array(Math.min(length, (PORT_COUNT >>> 5) - BASE_WORD));
      grown.set(ports.bits);
      ports.bits = grown;
    }
    ports.bits[word] = ((ports.bits[word] ?? 0) | (1 << (port & 31))) >>> 0;
    if (port === ports.low) ports.low = this.scan(ports, port, () => false) ?? PORT_COUNT;
  }

  /** Marks a port free again. */
  free(server: string, port: number): void {
    const ports = this.servers.get(server);
    if (!ports) return;
    const word = (port >>> 5) - BASE_WORD;
    if (word < 0) {
      ports.below?.delete(port);
      return;
    }
    if (word >= ports.bits.length) return;
    ports.bits[word] = ((ports.bits[word] ?? 0) & ~(1 << (port & 31))) >>> 0;
    if (port >= FIRST_ALLOCATED_PORT && port < ports.low) ports.low = port;
  }

  /** Drops a server (removed, or all its allocations released). */
  forget(server: string): void {
    this.servers.delete(server);
  }

  /** The lowest port from FIRST_ALLOCATED_PORT up that is not allocated and not refused by `skip`, if any. */
  firstFree(server: string, skip: (port: number) => boolean): number | undefined {
    const ports = this.servers.get(server);
    if (!ports) {
      this.steps = 0;
      for (let port = FIRST_ALLOCATED_PORT; port < PORT_COUNT; port++) {
        this.steps++;
        if (!skip(port)) return port;
      }
      return undefined;
    }
    this.scanned = 0;
    const found = this.scan(ports, ports.low, skip);
    this.steps = this.scanned;
    return found;
  }

  private of(server: string): ServerPorts {
    let ports = this.servers.get(server);
    if (!ports) {
      ports = { bits: new Uint32Array(INITIAL_WORDS), low: FIRST_ALLOCATED_PORT };
      this.servers.set(server, ports);
    }
    return ports;
  }

  private scan(ports: ServerPorts, from: number, skip: (port: number) => boolean): number | undefined {
    let port = Math.max(from, FIRST_ALLOCATED_PORT);
    while (port < PORT_COUNT) {
      this.scanned++;
      const word = ports.bits[(port >>> 5) - BASE_WORD] ?? 0;
      if (word === FULL_WORD) {
        port = ((port >>> 5) + 1) << 5;
        continue;
      }
      if ((word & (1 << (port & 31))) === 0 && !skip(port)) return port;
      port++;
    }
    return undefined;
  }
}
