import type { ArchiveSummary } from '../core/archive-summary';
import type { TaskEvent } from '../local/state-machine-runner';
import type { ArchiveShardResult } from '../archive/shard-archiver';
import { formatBytes, formatDuration, formatReadReport, info, table } from './output';

/** One progress line per ArchiveShard invocation and per shard failure. */
export function archiveProgress(event: TaskEvent): void {
  if (event.functionName === 'planShards' && event.output) {
    const plan = event.output as { shardCount: number; streams: string[]; waveCount: number };
    info(
      `planned ${plan.shardCount} shard(s) of ${plan.streams.join(', ') || 'no stream'} in ${plan.waveCount} lineage wave(s)`,
    );
  }
  if (event.functionName === 'archiveShard') {
    const input = event.input as { item: { stream: string; shardId: string } };
    const where = `${input.item.stream}/${input.item.shardId}`;
    if (event.error) {
      info(`  ${where}  ${event.error.name}: ${event.error.message}`);
      return;
    }
    const result = event.output as ArchiveShardResult;
    info(
      `  ${where}  +${result.records} records  +${result.objects} objects  ${formatBytes(result.bytes)}  ${result.status}` +
        (result.waitingFor ? ` (${result.waitingFor})` : '') +
        (result.heldBy ? ` by ${result.heldBy}` : ''),
    );
  }
}

export function printArchiveSummary(summary: ArchiveSummary): void {
  info('');
  info(
    table(
      ['stream', 'shards', 'records', 'objects', 'bytes', 'lag', 'failed', 'held'],
      summary.streams.map((s) => [
        s.stream,
        s.shards,
        s.records,
        s.objects,
        formatBytes(s.bytes),
        formatDuration(s.lagMs),
        s.failedShards,
        s.heldShards ?? 0,
      ]),
    ),
  );
  if (summary.shards.length > 0) {
    info('');
    info(
      table(
        ['shard', 'status', 'records', 'objects', 'bytes', 'lag'],
        summary.shards.map((s) => [
          `${s.stream}/${s.shardId}`,
          s.heldBy ? `held by ${s.heldBy}` : s.status,
          s.records,
          s.objects,
          formatBytes(s.bytes),
          formatDuration(s.lagMs),
        ]),
      ),
    );
  }
  for (const stream of summary.streams) {
    if (stream.read) info(`read ${stream.stream}: ${formatReadReport(stream.read)}`);
  }
  if (summary.shardRowsOmitted > 0)
    info(`(${summary.shardRowsOmitted} more shard rows in ${summary.summaryKey})`);
  if (summary.retention?.changed) {
    const streams = summary.retention.streamsWithRules.join(', ') || 'none';
    info(`\nretention: the bucket's lifecycle rules were updated (streams with retention rules: ${streams})`);
  }
  for (const snapshot of summary.snapshots ?? []) {
    info(
      snapshot.error
        ? `snapshot of ${snapshot.stream} not updated: ${snapshot.error.name}: ${snapshot.error.message}`
        : `snapshot of ${snapshot.stream} (LATEST): ${snapshot.keys} keys, generation ${snapshot.generation}`,
    );
  }
  for (const warning of summary.warnings ?? []) info(`warning: ${warning}`);
  info(
    `\narchived ${summary.totals.records} records in ${summary.totals.objects} objects (${formatBytes(summary.totals.bytes)}); summary: ${summary.summaryKey}`,
  );
}
