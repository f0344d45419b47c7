import type { ArchivePlan } from '../archive/plan';
import { archiveRunFiles } from '../archive/run-files';
import { archiveRuntime } from '../archive/runtime';
import {
  compactSummary,
  shardResultKey,
  summarizeArchiveRun,
  type ShardRunResult,
} from '../core/archive-summary';
import type { ArchiveTotals, Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { CorruptStateError } from '../core/errors';
import { checkpointKey } from '../core/layout';
import { columnarPlanOutcome, summarizeColumnar, type HourConversionOutcome } from '../core/columnar';
import { recordGapCounts } from '../telemetry/workflow-metrics';
import { passThrough, taskHandler } from './shared/task-handler';

/** Per-shard rows returned in the execution output; the full summary is always in S3. */
const MAX_SHARD_ROWS = 200;

/** SummarizeArchive: per stream and shard, records, objects, bytes and lag of this run. */
export const handler = taskHandler(
  passThrough<{ runId: string; retention?: unknown; snapshots?: unknown; columnar?: unknown }>,
  async (event, _context, { metrics }) => {
    const { store, config } = archiveRuntime();
    const files = archiveRunFiles(config.prefix, event.runId);
    const plan = await store.getJson<ArchivePlan>(files.plan);
    if (!plan) throw new CorruptStateError(`Plan ${files.plan} is missing`);

    const totalsNow = new Map<string, ArchiveTotals>();
    const results = new Map<string, ShardRunResult>();
    const gaps = new Map<string, { stream: string; open: number; acknowledged: number }>();
    await mapWithConcurrency(plan.value.shards, 16, async ({ stream, shardId }) => {
      const [checkpoint, result] = await Promise.all([
        store.getJson<Checkpoint>(checkpointKey(config.prefix, stream, shardId)),
        store.getJson<ShardRunResult>(files.shardResult(stream, shardId)),
      ]);
      const counts = gaps.get(stream) ?? { stream, open: 0, acknowledged: 0 };
      gaps.set(stream, counts);
      if (checkpoint) {
        totalsNow.set(shardResultKey(stream, shardId), checkpoint.value.totals);
        if (checkpoint.value.openGap) counts.open += 1;
        counts.acknowledged += checkpoint.value.acknowledgedGaps ?? 0;
      }
      if (result) results.set(shardResultKey(stream, shardId), result.value);
    });
    for (const counts of gaps.values()) recordGapCounts(metrics, counts);

    const outcomes = await mapWithConcurrency(await store.listKeys(files.columnarResults), 16, (key) =>
      store.getJson<HourConversionOutcome>(key),
    );
    const columnar = summarizeColumnar(
      outcomes.flatMap((o) => (o ? [o.value] : [])),
      columnarPlanOutcome(event.columnar),
    );

    const summary = summarizeArchiveRun({
      columnar,
      runId: event.runId,
      summaryKey: files.summary,
      planned: plan.value.shards,
      reads: plan.value.reads,
      readProblems: plan.value.readProblems,
      totalsNow,
      results,
      missingStreams: plan.value.missingStreams,
      recreated: plan.value.recreated,
      retention: event.retention,
      snapshots: event.snapshots,
      now: new Date(),
    });
    await store.putJson(files.summary, summary);
    return compactSummary(summary, MAX_SHARD_ROWS);
  },
);
