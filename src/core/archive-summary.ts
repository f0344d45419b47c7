import { columnarWarnings, type ColumnarRunSummary } from './columnar';
import { causeMessage } from './error-cause';
import type { ReadRate, ReadUsage } from './read-budget';
import { shareOfRate, type StreamReadPolicy } from './read-policy';
import type { RecreatedStream } from './stream-epoch';
import type { ArchiveTotals } from './checkpoint';

export type ShardRunStatus =
  | 'caught-up'
  | 'drained'
  | 'budget-exhausted'
  | 'waiting-for-parent'
  /** Another live execution holds the shard's lease: it archives the shard, this run skips it. */
  | 'held'
  | 'failed'
  | 'not-run';

/** ArchiveShard invocations of a shard in one run, what Lambda billed for them, and what they read. */
export interface TaskUsage {
  invocations: number;
  gbSeconds: number;
  /** The shard's reads (absent in usage recorded before reads were counted, or with none). */
  reads?: ReadUsage;
}

export const NO_USAGE: TaskUsage = { invocations: 0, gbSeconds: 0 };

export function addUsage(a: TaskUsage, b: TaskUsage): TaskUsage {
  const reads = a.reads && b.reads ? addReads(a.reads, b.reads) : (a.reads ?? b.reads);
  return {
    invocations: a.invocations + b.invocations,
    gbSeconds: a.gbSeconds + b.gbSeconds,
    ...(reads ? { reads } : {}),
  };
}

function addReads(a: ReadUsage, b: ReadUsage): ReadUsage {
  return {
    calls: a.calls + b.calls,
    bytes: a.bytes + b.bytes,
    throttled: a.throttled + b.throttled,
    seconds: a.seconds + b.seconds,
  };
}

/** How a stream was read in one run, against how it may be read. */
export interface StreamReadReport {
  mode: StreamReadPolicy['mode'];
  /** The configured share of each shard's read limits (null: the default rate). */
  share: number | null;
  /** The configured polling rate per shard. */
  rate: ReadRate;
  /** GetRecords calls (or subscriptions), bytes read and throttled calls, all shards. */
  calls: number;
  bytes: number;
  throttled: number;
  /**
   * The shard that used most of its limits: its average calls/s and bytes/s while it was read,
   * and the share of the shard's 5 calls/s and 2 MiB/s that is (the larger of the two).
   */
  busiestShard: { shardId: string; callsPerSecond: number; bytesPerSecond: number; share: number } | null;
}

/** What the per-shard loop of one run recorded for a shard. */
export interface ShardRunResult {
  stream: string;
  shardId: string;
  status: ShardRunStatus;
  lagMs: number | null;
  waitingFor?: string;
  /** `held`: the execution name of the lease's holder. */
  heldBy?: string;
  error?: { name: string; message: string };
  /** Absent in results recorded before usage was tracked. */
  usage?: TaskUsage;
}

export interface ShardSummaryRow extends ArchiveTotals {
  stream: string;
  shardId: string;
  status: ShardRunStatus;
  lagMs: number | null;
  heldBy?: string;
  error?: { name: string; message: string };
}

export interface StreamSummaryRow extends ArchiveTotals {
  stream: string;
  shards: number;
  failedShards: number;
  /** Shards another live execution was archiving (not failures). */
  heldShards: number;
  /** The largest shard lag: age of the oldest record of the stream not archived yet. */
  lagMs: number | null;
  /** ArchiveShard invocations and GB-seconds of this stream's shards (`reservoir cost` reads it). */
  usage: TaskUsage;
  /** How the stream was read (absent for runs planned before read policies). */
  read?: StreamReadReport;
}

/** What ApplyRetention did in this run (DESIGN.md "Retention"). */
export interface RetentionOutcome {
  /** False when ApplyRetention failed (the archive ran anyway). */
  applied: boolean;
  /** The bucket's lifecycle configuration was written. */
  changed: boolean;
  /** Streams with reservoir lifecycle rules set by this run. */
  streamsWithRules: string[];
  problems: string[];
  error: { name: string; message: string } | null;
}

export interface SnapshotOutcome {
  stream: string;
  generation?: string;
  keys?: number;
  records?: number;
  /** The tombstone pattern applied differs from the run's configuration (see snapshotTombstone). */
  tombstoneNote?: string;
  error?: { name: string; message: string };
}

/** The Map's output: CommitSnapshot results, or {stream, error: {Error, Cause}} from the Catch. */
export function snapshotOutcomes(raw: unknown): SnapshotOutcome[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item: Record<string, unknown>) => {
    const stream = String(item.stream ?? '');
    const error = item.error as { Error?: string; Cause?: string } | undefined;
    if (error) return { stream, error: { name: error.Error ?? 'Error', message: causeMessage(error.Cause) } };
    return {
      stream,
      generation: String(item.generation),
      keys: Number(item.keys),
      records: Number(item.records),
      ...(typeof item.tombstoneNote === 'string' ? { tombstoneNote: item.tombstoneNote } : {}),
    };
  });
}

export interface ArchiveSummary {
  runId: string;
  finishedAt: string;
  totals: ArchiveTotals;
  streams: StreamSummaryRow[];
  /** Per shard (in the execution output, only failed ones past a size bound: see compactSummary). */
  shards: ShardSummaryRow[];
  shardRowsOmitted: number;
  missingStreams: string[];
  failedShards: number;
  /** Shards another live execution held (overlapping runs): skipped, not failed. */
  heldShards: number;
  dataGaps: number;
  /** Failed shards plus missing streams: the state machine fails the run when above 0. */
  problemCount: number;
  /** Streams this run found deleted and created again: archived as a new epoch. */
  recreated: RecreatedStream[];
  /** LATEST streams: the snapshot generation this run made current, or why it did not. */
  snapshots: SnapshotOutcome[];
  retention: RetentionOutcome | null;
  /** Hours converted to Parquet after the shards (absent in summaries from before the conversion). */
  columnar?: ColumnarRunSummary | null;
  /**
   * Things to look at that do not fail the run: malformed retention tags, retention rules that
   * could not be applied.
   */
  warnings: string[];
  /** The error the execution fails with, when anything failed. */
  errorName: string | null;
  failureMessage: string | null;
  summaryKey: string;
}

export interface SummaryInput {
  runId: string;
  summaryKey: string;
  planned: { stream: string; shardId: string; baseline: ArchiveTotals }[];
  /** Checkpoint totals at the end of the run, by `${stream}/${shardId}`. */
  totalsNow: Map<string, ArchiveTotals>;
  results: Map<string, ShardRunResult>;
  missingStreams: string[];
  /** Streams ListShards found recreated (their earlier checkpoints moved aside). */
  recreated?: RecreatedStream[];
  /** ApplyRetention's result or the error its Catch recorded (`$.retention` of the execution). */
  retention?: unknown;
  /** LatestSnapshots' results: a commit per LATEST stream, or `{stream, error}` from its Catch. */
  snapshots?: unknown;
  /** The columnar conversion of this run (summarizeColumnar), or null when it did not run. */
  columnar?: ColumnarRunSummary | null;
  /** How each stream was to be read (the plan's read policies), and malformed read tags. */
  reads?: Readonly<Record<string, StreamReadPolicy>>;
  readProblems?: readonly string[];
  now: Date;
}

const MAX_WARNINGS = 50;

/**
 * ApplyRetention's output, or the `{Error, Cause}` its Catch put in the same place. On AWS the
 * Cause of a Lambda error is the JSON `{"errorType","errorMessage",...}`; locally, the message.
 */
export function retentionOutcome(raw: unknown): RetentionOutcome | null {
  if (raw === null || typeof raw !== 'object') return null;
  const value = raw as Record<string, unknown>;
  if (typeof value.Error === 'string') {
    const message = causeMessage(typeof value.Cause === 'string' ? value.Cause : undefined);
    return {
      applied: false,
      changed: false,
      streamsWithRules: [],
      problems: [],
      error: { name: value.Error, message },
    };
  }
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
  return {
    applied: true,
    changed: value.changed === true,
    streamsWithRules: strings(value.streamsWithRules),
    problems: strings(value.problems),
    error: null,
  };
}

function retentionWarnings(retention: RetentionOutcome | null): string[] {
  if (!retention) return [];
  const warnings = retention.problems.map((problem) => `retention: ${problem}`);
  if (retention.error) {
    warnings.push(
      `retention: lifecycle rules not applied (${retention.error.name}: ${retention.error.message}); ` +
        'the archive ran; the next run tries again',
    );
  }
  if (warnings.length <= MAX_WARNINGS) return warnings;
  return [...warnings.slice(0, MAX_WARNINGS), `… and ${warnings.length - MAX_WARNINGS} more`];
}

function readReport(
  policy: StreamReadPolicy,
  input: SummaryInput,
  rows: readonly ShardSummaryRow[],
): StreamReadReport {
  const report: StreamReadReport = {
    mode: policy.mode,
    share: policy.share,
    rate: policy.rate,
    calls: 0,
    bytes: 0,
    throttled: 0,
    busiestShard: null,
  };
  for (const row of rows) {
    const reads = input.results.get(shardKey(row.stream, row.shardId))?.usage?.reads;
    if (!reads) continue;
    report.calls += reads.calls;
    report.bytes += reads.bytes;
    report.throttled += reads.throttled;
    const used = shareOfRate(reads);
    if (!report.busiestShard || used.share > report.busiestShard.share)
      report.busiestShard = { shardId: row.shardId, ...used };
  }
  return report;
}

const shardKey = (stream: string, shardId: string) => `${stream}/${shardId}`;
export { shardKey as shardResultKey };

/** Adds up what the run archived: the checkpoints' totals now minus when the run was planned. */
export function summarizeArchiveRun(input: SummaryInput): ArchiveSummary {
  const rows: ShardSummaryRow[] = input.planned.map(({ stream, shardId, baseline }) => {
    const key = shardKey(stream, shardId);
    const result = input.results.get(key);
    // What the holder of a held shard archived meanwhile is the holder's to report.
    const now = result?.status === 'held' ? baseline : (input.totalsNow.get(key) ?? baseline);
    return {
      stream,
      shardId,
      status: result?.status ?? 'not-run',
      records: now.records - baseline.records,
      objects: now.objects - baseline.objects,
      bytes: now.bytes - baseline.bytes,
      lagMs: result?.lagMs ?? null,
      ...(result?.heldBy ? { heldBy: result.heldBy } : {}),
      ...(result?.error ? { error: result.error } : {}),
    };
  });

  const byStream = new Map<string, StreamSummaryRow>();
  for (const row of rows) {
    const stream = byStream.get(row.stream) ?? {
      stream: row.stream,
      shards: 0,
      failedShards: 0,
      heldShards: 0,
      records: 0,
      objects: 0,
      bytes: 0,
      lagMs: null,
      usage: NO_USAGE,
    };
    stream.shards += 1;
    stream.usage = addUsage(
      stream.usage,
      input.results.get(shardKey(row.stream, row.shardId))?.usage ?? NO_USAGE,
    );
    stream.records += row.records;
    stream.objects += row.objects;
    stream.bytes += row.bytes;
    if (row.status === 'failed' || row.status === 'not-run') stream.failedShards += 1;
    if (row.status === 'held') stream.heldShards += 1;
    if (row.lagMs !== null) stream.lagMs = Math.max(stream.lagMs ?? 0, row.lagMs);
    byStream.set(row.stream, stream);
  }
  for (const stream of byStream.values()) {
    const policy = input.reads?.[stream.stream];
    if (policy)
      stream.read = readReport(
        policy,
        input,
        rows.filter((row) => row.stream === stream.stream),
      );
  }

  const failed = rows.filter((row) => row.status === 'failed' || row.status === 'not-run');
  const gaps = failed.filter((row) => row.error?.name === 'DataGapError');
  const snapshots = snapshotOutcomes(input.snapshots);
  const failedSnapshots = snapshots.filter((s) => s.error);
  const problems = [
    ...failedSnapshots.map((s) => `${s.stream}: snapshot not updated: ${s.error!.name}: ${s.error!.message}`),
    ...failed.map(
      (row) =>
        `${row.stream}/${row.shardId}: ${row.error ? `${row.error.name}: ${row.error.message}` : 'did not run'}`,
    ),
    ...input.missingStreams.map(
      (name) => `${name}: StreamNotFoundError: listed for archiving but does not exist`,
    ),
  ];
  const errorName =
    problems.length === 0
      ? null
      : gaps.length > 0
        ? 'DataGapError'
        : failed.length === 0
          ? 'StreamNotFoundError'
          : 'ShardsFailedError';

  return {
    runId: input.runId,
    finishedAt: input.now.toISOString(),
    totals: rows.reduce(
      (sum, row) => ({
        records: sum.records + row.records,
        objects: sum.objects + row.objects,
        bytes: sum.bytes + row.bytes,
      }),
      { records: 0, objects: 0, bytes: 0 },
    ),
    streams: [...byStream.values()].sort((a, b) => a.stream.localeCompare(b.stream)),
    shards: rows,
    shardRowsOmitted: 0,
    missingStreams: input.missingStreams,
    recreated: input.recreated ?? [],
    snapshots,
    retention: retentionOutcome(input.retention),
    columnar: input.columnar ?? null,
    warnings: [
      ...(input.recreated ?? []).map(
        (r) =>
          `${r.stream}: the stream was deleted and created again (now created ${r.createdAt}); archived as a new ` +
          `epoch from its trim horizon; ${r.retiredCheckpoints} checkpoint(s) of the earlier stream kept under ` +
          `${r.retiredPrefix}; its archive objects are untouched`,
      ),
      ...snapshots.flatMap((s) =>
        s.tombstoneNote ? [`${s.stream}: LATEST snapshot: ${s.tombstoneNote}`] : [],
      ),
      ...(input.readProblems ?? []).map((problem) => `read: ${problem}`),
      ...retentionWarnings(retentionOutcome(input.retention)),
      ...columnarWarnings(input.columnar ?? null),
    ],
    failedShards: failed.length,
    heldShards: rows.filter((row) => row.status === 'held').length,
    dataGaps: gaps.length,
    problemCount: problems.length,
    errorName,
    failureMessage:
      problems.length === 0
        ? null
        : truncate(`${problems.length} problem(s): ${problems.join(' | ')}`, 30_000),
    summaryKey: input.summaryKey,
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The summary as the execution output: per-shard rows only while they are few (a state's
 * payload is capped at 256 KiB); past that, the failed shards first. The full summary is in S3.
 */
export function compactSummary(summary: ArchiveSummary, maxShardRows: number): ArchiveSummary {
  if (summary.shards.length <= maxShardRows) return summary;
  const failed = summary.shards.filter((row) => row.status === 'failed' || row.status === 'not-run');
  const kept = failed.slice(0, maxShardRows);
  return { ...summary, shards: kept, shardRowsOmitted: summary.shards.length - kept.length };
}
