/**
 * The shape of benchmark results and how they are shown. Each bench module returns one or more sections; the
 * runner prints them as tables and writes them as JSON. Goals are judged on ratios against a baseline measured in
 * the same run (the machine is shared, so absolute times drift between runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One line of a section's table. `value` and `baseline` are already formatted for people (e.g. "0.21 ms"). */
export interface BenchRow {
  name: string;
  value: string;
  baseline?: string | undefined;
  /** ours / baseline, or another dimensionless comparison the row names. */
  ratio?: number | undefined;
  /** The goal in words, e.g. "ratio ≤ 2×". */
  goal?: string | undefined;
  /** Whether the goal was met; absent for rows that only inform. */
  ok?: boolean;
}

/** One table of the report. */
export interface BenchSection {
  title: string;
  rows: BenchRow[];
}

/** What every bench module exports (`benchStore`, `benchVault`, …): runs its measurements, returns its tables. */
export type BenchFunction = () => Promise<BenchSection | BenchSection[]>;

/** The whole run as written to `bench-results/latest.json`. */
export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly filter: readonly string[];
  readonly machine: { readonly node: string; readonly cpus: number; readonly loadAverage: readonly number[] };
  readonly sections: readonly BenchSection[];
}

/** Formats milliseconds for a table: three significant figures, unit included. */
export function formatMs(milliseconds: number): string {
  if (milliseconds >= 1000) return `${(milliseconds / 1000).toFixed(2)} s`;
  if (milliseconds >= 100) return `${milliseconds.toFixed(0)} ms`;
  if (milliseconds >= 10) return `${milliseconds.toFixed(1)} ms`;
  return `${milliseconds.toFixed(3)} ms`;
}

/** Formats a ratio for a table, e.g. "1.42×". */
export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

/** A row comparing ours with a baseline, judged against an upper bound on the ratio. */
export function ratioRow(name: string, ours: number, baseline: number, maxRatio?: number): BenchRow {
  const ratio = ours / baseline;
  return {
    name,
    value: formatMs(ours),
    baseline: formatMs(baseline),
    ratio,
    ...(maxRatio === undefined ? {} : { goal: `ratio ≤ ${maxRatio}×`, ok: ratio <= maxRatio }),
  };
}

/** Renders one section as a plain-text table. */
export function renderSection(section: BenchSection): string {
  const header = ['name', 'value', 'baseline', 'ratio', 'goal', 'verdict'];
  const cells = section.rows.map((row) => [
    row.name,
    row.value,
    row.baseline ?? '',
    row.ratio === undefined ? '' : formatRatio(row.ratio),
    row.goal ?? '',
    row.ok === undefined ? '' : row.ok ? 'ok' : 'MISSED',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => (line[column] ?? '').length)));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [`== ${section.title}`, render(header), rule, ...cells.map(render)].join('\n');
}

/** Describes the machine the run happened on, so figures are read with their context. */
export function describeMachine(): BenchReport['machine'] {
  return { node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100) };
}

/** Writes the report as JSON (creating the folder), returning the file's path. */
export function writeReport(folder: string, report: BenchReport): string {
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'latest.json');
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
