/**
 * What a health check reads on a server, in one SSH command: free RAM from /proc/meminfo, free disk from `df -Pm /`,
 * CPU count, and the listening TCP ports from `ss -ltnH` (or /proc/net/tcp{,6} where `ss` is missing or too old).
 * The command is a constant: nothing from the user or the server is ever put into it.
 */
export const PROBE_COMMAND = [
  'cat /proc/meminfo',
  "echo '@@zavhoz-df'",
  'df -Pm /',
  "echo '@@zavhoz-cpu'",
  '(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 0)',
  "echo '@@zavhoz-ports'",
  "(ss -ltnH 2>/dev/null || { echo '@@zavhoz-proc'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; })",
].join('; ');

/** What the probe found. Missing figures are null (a minimal system may lack a tool). */
export interface ProbeResult {
  readonly memTotalMb: number | null;
  readonly memAvailableMb: number | null;
  readonly diskTotalMb: number | null;
  readonly diskAvailableMb: number | null;
  readonly cpuCores: number | null;
  readonly listeningPorts: number[];
}

/** Reads `MemTotal` and `MemAvailable` (kB) from /proc/meminfo text, in MB. */
export function parseMeminfo(text: string): { totalMb: number | null; availableMb: number | null } {
  const field = (name: string): number | null => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return match?.[1] ? Math.floor(Number(match[1]) / 1024) : null;
  };
  return { totalMb: field('MemTotal'), availableMb: field('MemAvailable') };
}

/** Reads total and available MB of the filesystem from `df -Pm /` output. */
export function parseDf(text: string): { totalMb: number | null; availableMb: number | null } {
  const line = text
    .split('\n')
    .slice(1)
    .find((row) => row.trim().length > 0);
  const columns = line?.trim().split(/\s+/) ?? [];
  const number = (value: string | undefined): number | null => (value !== undefined && /^\d+$/.test(value) ? Number(value) : null);
  return { totalMb: number(columns[1]), availableMb: number(columns[3]) };
}

/** Listening ports from `ss -ltnH` lines (`LISTEN 0 128 127.0.0.1:8000 0.0.0.0:*`). */
export function parseSs(text: string): number[] {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    const columns = line.trim().split(/\s+/);
    // With -H there is no header; the state column comes first when present.
    const local = columns[0] === 'LISTEN' ? columns[3] : columns[2];
    const port = Number(local?.slice(local.lastIndexOf(':') + 1));
    if (Number.isInteger(port) && port > 0 && port < 65_536) ports.add(port);
  }
  return [...ports].sort((left, right) => left - right);
}

/** Listening ports from /proc/net/tcp and tcp6 (state 0A is LISTEN; the port is hex after the colon). */
export function parseProcNetTcp(text: string): number[] {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (columns[3] !== '0A') continue;
    const local = columns[1] ?? '';
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return [...ports].sort((left, right) => left - right);
}

/** Splits the probe's output into its parts and reads each. */
export function parseProbe(output: string): ProbeResult {
  const [meminfo = '', afterDf = ''] = output.split('@@zavhoz-df\n');
  const [df = '', afterCpu = ''] = afterDf.split('@@zavhoz-cpu\n');
  const [cpu = '', ports = ''] = afterCpu.split('@@zavhoz-ports\n');
  const memory = parseMeminfo(meminfo);
  const disk = parseDf(df);
  const cores = Number(cpu.trim());
  const procMarker = ports.indexOf('@@zavhoz-proc\n');
  const listeningPorts = procMarker >= 0 ? parseProcNetTcp(ports.slice(procMarker)) : parseSs(ports);
  return {
    memTotalMb: memory.totalMb,
    memAvailableMb: memory.availableMb,
    diskTotalMb: disk.totalMb,
    diskAvailableMb: disk.availableMb,
    cpuCores: Number.isInteger(cores) && cores > 0 ? cores : null,
    listeningPorts,
  };
}
