import type { StreamReadReport } from '../core/archive-summary';
import { parseTimeBound, timeBoundField } from '../core/time-bound';

/** Terminal output helpers: progress and tables go to stderr so stdout stays machine-readable. */
export function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

/** A numeric flag that must be positive (and whole, with `integer`). */
export function positiveOption(value: string, flag: string, integer = false): number {
  const parsed = Number(value);
  if (integer ? !Number.isInteger(parsed) || parsed < 1 : !(parsed > 0))
    throw new CommandFailure(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  return parsed;
}

/** Minutes of a duration flag: "4h", "90m", "1h30m" or plain minutes ("90"). */
export function parseDuration(text: string, flag = '--duration'): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m?)?$/.exec(text.trim());
  if (!match || (!match[1] && !match[2]))
    throw new CommandFailure(`${flag}: expected e.g. 4h, 90m or 1h30m, got "${text}"`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

/**
 * A time flag (or request field) as the request schemas take it: a date alone becomes midnight
 * UTC, an instant stays exactly as typed (a resumed replay compares its request as written).
 */
export function timeOption(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (Number.isNaN(parseTimeBound(value)))
    throw new CommandFailure(
      `${flag}: not a date (2026-11-21) or an ISO-8601 instant with its zone (2026-11-21T09:00:00Z): "${value}"`,
    );
  return timeBoundField(value);
}

/** Fails the command with a one-line reason and a non-zero exit code. */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/**
 * How a stream is read and what the last run used of its shards' limits, e.g.
 * "polling at 1 call/s, 1 MiB/s per shard (default share); busiest shard shardId-0: 0.8 calls/s, 512 KiB/s, 16 % of its limits; 0 throttled".
 */
export function formatReadReport(read: StreamReadReport): string {
  const how =
    read.mode === 'efo'
      ? 'enhanced fan-out (its own 2 MiB/s per shard)'
      : `polling at ${round(read.rate.callsPerSecond)} call/s, ${formatBytes(read.rate.bytesPerSecond)}/s per shard ` +
        (read.share === null ? '(default share)' : `(share ${read.share})`);
  const busiest = read.busiestShard
    ? `busiest shard ${read.busiestShard.shardId}: ${round(read.busiestShard.callsPerSecond)} ${read.mode === 'efo' ? 'subscriptions' : 'calls'}/s, ` +
      `${formatBytes(Math.round(read.busiestShard.bytesPerSecond))}/s, ${Math.round(read.busiestShard.share * 100)} % of its limits`
    : 'nothing read';
  return `${how}; ${busiest}; ${read.throttled} throttled`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
