import { FIRST_ALLOCATED_PORT } from '../protocol/allocations.js';

const PORT_COUNT = 65_536;
const WORDS = PORT_COUNT / 32;
const FULL_WORD = 0xffff_ffff;

interface ServerPorts {
  readonly bits: Uint32Array;
  /** Every port from FIRST_ALLOCATED_PORT below this one is allocated. */
  low: number;
}

/**
 * Which ports are allocated on each server, kept in memory as one bitmap per server so the next free port is found
 * without reading the allocations table: the search starts at the lowest port not yet allocated and skips full
 * 32-port words, so its cost does not grow with the number of allocations. Rebuilt from the table on start; the
 * table's UNIQUE(server, port) stays the last word.
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
    if (!ports) return false;
    return ((ports.bits[port >>> 5] ?? 0) & (1 << (port & 31))) !== 0;
  }

  /** Marks a port allocated. */
  take(server: string, port: number): void {
    const ports = this.of(server);
    const word = port >>> 5;
    ports.bits[word] = ((ports.bits[word] ?? 0) | (1 << (port & 31))) >>> 0;
    if (port === ports.low) ports.low = this.scan(ports, port, () => false) ?? PORT_COUNT;
  }

  /** Marks a port free again. */
  free(server: string, port: number): void {
    const ports = this.servers.get(server);
    if (!ports) return;
    const word = port >>> 5;
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
      ports = { bits: new Uint32Array(WORDS), low: FIRST_ALLOCATED_PORT };
      this.servers.set(server, ports);
    }
    return ports;
  }

  private scan(ports: ServerPorts, from: number, skip: (port: number) => boolean): number | undefined {
    let port = Math.max(from, FIRST_ALLOCATED_PORT);
    while (port < PORT_COUNT) {
      this.scanned++;
      const word = ports.bits[port >>> 5] ?? 0;
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
