import type { ReadRate } from './read-budget';
import type { ReplayPace } from './replay-pace';
import { ValidationError } from './errors';
import { runPrefix } from './layout';

/** The replay request as users write it (schemas/replay-request.schema.json). */
export interface ReplayRequest {
  stream: string;
  target?: string;
  from?: string;
  to?: string;
  filter?: Record<string, unknown> | Record<string, unknown>[];
  annotations?: Record<string, unknown>;
  format?: 'envelope' | 'raw';
  includeLive?: boolean;
  compact?: boolean;
  filterStage?: 'before' | 'after';
  replayId?: string;
  /** Put records at their original pace sped up, or no faster than a rate (src/core/replay-pace.ts). */
  pace?: ReplayPace;
}

/** The request with its defaults applied, as the workers use it. */
export interface ResolvedReplay {
  replayId: string;
  stream: string;
  target: string;
  /** Inclusive, epoch ms (0: the start of the archive). */
  fromMs: number;
  /** Exclusive, epoch ms (default: when the replay started). */
  toMs: number;
  filter: Record<string, unknown>[] | null;
  annotations: Record<string, unknown>;
  format: 'envelope' | 'raw';
  includeLive: boolean;
  /** One record per key (the compact state machine runs first), with the filter applied before or after. */
  compact: boolean;
  filterStage: 'before' | 'after';
  /** When the replay was first started; the live tail is read up to here. */
  startedAt: number;
  /** The live tail's polling rate per shard (the stream's read policy); absent: the default. */
  readRate?: ReadRate;
  /** Absent: as fast as the target accepts. */
  pace?: ReplayPace;
  /**
   * The target's maximum record size (DescribeStreamSummary), read again each time the replay
   * starts or resumes; absent (replays stored before it was read): 1 MiB.
   */
  targetMaxRecordBytes?: number;
}

/** A replay id that says what ran: replay-{stream}-{time}-{random}. */
export function generateReplayId(stream: string, now: Date, random: string): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `replay-${stream.replace(/[^a-zA-Z0-9_-]/g, '-')}-${time}-${random}`.slice(0, 64);
}

/**
 * Applies defaults and checks what the schema cannot (bounds in order, filterStage only with
 * compact). Schema validation (field types, unknown fields, date-time format) runs before.
 */
export function resolveReplayRequest(request: ReplayRequest, now: Date, replayId: string): ResolvedReplay {
  if (request.filterStage && !request.compact) {
    throw new ValidationError('field filterStage: only applies with compact: true (dependency)');
  }
  const fromMs = request.from ? Date.parse(request.from) : 0;
  const toMs = request.to ? Date.parse(request.to) : now.getTime();
  if (fromMs >= toMs) {
    throw new ValidationError(
      `field to: must be after from (from ${request.from ?? 'the start of the archive'} >= to ${request.to ?? now.toISOString()})`,
    );
  }
  return {
    replayId,
    stream: request.stream,
    target: request.target ?? request.stream,
    fromMs,
    toMs,
    filter:
      request.filter === undefined ? null : Array.isArray(request.filter) ? request.filter : [request.filter],
    annotations: request.annotations ?? {},
    format: request.format ?? 'envelope',
    includeLive: request.includeLive ?? false,
    compact: request.compact ?? false,
    filterStage: request.filterStage ?? 'before',
    startedAt: now.getTime(),
    ...(request.pace ? { pace: request.pace } : {}),
  };
}

/** Stream-name patterns of the replay target allow-list: exact names, `*` matching any run of characters. */
export function matchesAllowList(stream: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    return regex.test(stream);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The compaction a compacted replay runs first: same bounds, filter and live tail. */
export function compactionRunId(replayId: string): string {
  return `${replayId}-compact`;
}

export function compactionRequestFor(replay: ResolvedReplay, prefix: string): Record<string, unknown> {
  return {
    stream: replay.stream,
    ...(replay.fromMs > 0 ? { from: new Date(replay.fromMs).toISOString() } : {}),
    to: new Date(replay.toMs).toISOString(),
    ...(replay.filter ? { filter: replay.filter } : {}),
    filterStage: replay.filterStage,
    includeLive: replay.includeLive,
    runId: compactionRunId(replay.replayId),
    outPrefix: `${runPrefix(prefix, 'replay', replay.replayId)}compacted/`,
  };
}
