import type { ArchiveSummary, StreamReadReport } from '../core/archive-summary';
import { missingRange } from '../core/gap-ledger';
import type { StreamStatus } from './collect-status';

/** The newest archive run, as `status` judges health from it. */
export interface LastArchiveRun {
  runId: string;
  finishedAt: string;
  /** Shards that failed in it, with the error (a DataGapError among them names the gap). */
  failedShards: { stream: string; shardId: string; error: string }[];
  /** How each stream was read in it, and the share of its shards' read limits it used. */
  reads: Record<string, StreamReadReport>;
}

export function lastArchiveRun(summary: ArchiveSummary | undefined): LastArchiveRun | null {
  if (!summary) return null;
  return {
    runId: summary.runId,
    finishedAt: summary.finishedAt,
    failedShards: summary.shards
      .filter((row) => row.status === 'failed' || row.status === 'not-run')
      .map((row) => ({
        stream: row.stream,
        shardId: row.shardId,
        error: row.error ? `${row.error.name}: ${row.error.message}` : 'did not run',
      })),
    reads: Object.fromEntries(
      (summary.streams ?? []).flatMap((row) => (row.read ? [[row.stream, row.read] as const] : [])),
    ),
  };
}

export interface HealthInput {
  streams: StreamStatus[];
  lastRun: LastArchiveRun | null;
  now: number;
  /** No archive run for longer than this is a problem (the schedule's interval, with slack). */
  maxRunAgeMs: number;
}

/**
 * What `reservoir status --check` fails on, one line each: shards that cannot be read, that have
 * an open data gap, that the
 * last run failed (a data gap among them), whose holder died without releasing them, whose
 * streams were recreated, whose time to loss is under the alarm's share; and an archive that has
 * not run for longer than its schedule allows.
 */
export function healthProblems(input: HealthInput): string[] {
  const problems: string[] = [];
  for (const stream of input.streams) {
    if (stream.recreated) {
      problems.push(
        `${stream.stream}: the stream was recreated at ${stream.recreated.createdAt}; ` +
          'the next archive run starts a new epoch (the old archive stays queryable)',
      );
    }
    for (const shard of stream.shards) {
      const where = `${stream.stream}/${shard.shardId}`;
      if (shard.probeError) problems.push(`${where}: unreadable (${shard.probeError})`);
      if (shard.openGap) {
        problems.push(
          `${where}: open data gap (records ${missingRange(shard.openGap)} expired unarchived; first detected ` +
            `${shard.openGap.firstDetected}, last seen ${shard.openGap.lastSeen}): every run fails the shard ` +
            'until `reservoir gaps acknowledge`',
        );
      }
      if (shard.lease && !shard.lease.live) {
        problems.push(
          `${where}: held by ${shard.lease.holder}, whose lease expired at ${shard.lease.expiresAt} ` +
            'without being released (the execution died or is stuck; the next run takes over)',
        );
      }
      if (shard.timeToLossShort) {
        problems.push(
          `${where}: ${shard.timeToLossSeconds} s until Kinesis deletes records not archived yet ` +
            '(under the alarm share of the retention)',
        );
      }
    }
  }
  const run = input.lastRun;
  if (!run) {
    if (input.streams.length > 0) problems.push('no archive run has finished yet');
  } else {
    const ageMs = input.now - Date.parse(run.finishedAt);
    if (ageMs > input.maxRunAgeMs) {
      problems.push(
        `no archive run finished for ${Math.round(ageMs / 60_000)} min (last: ${run.runId} at ${run.finishedAt}; ` +
          `expected at least every ${Math.round(input.maxRunAgeMs / 60_000)} min)`,
      );
    }
    const named = new Set(input.streams.map((stream) => stream.stream));
    for (const failed of run.failedShards) {
      if (named.has(failed.stream))
        problems.push(`${failed.stream}/${failed.shardId}: failed in ${run.runId}: ${failed.error}`);
    }
  }
  return problems;
}
