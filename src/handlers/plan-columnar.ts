import type { ArchivePlan } from '../archive/plan';
import { archiveRunFiles } from '../archive/run-files';
import { planColumnar } from '../columnar/plan';
import { readWatermarks, writeWatermarks } from '../columnar/watermarks';
import { columnarRuntime } from '../columnar/runtime';
import { CorruptStateError } from '../core/errors';
import { passThrough, taskHandler } from './shared/task-handler';

/**
 * PlanColumnar: the closed hours of the run's streams whose Parquet is missing or stale, oldest
 * first and at most RESERVOIR_COLUMNAR_HOURS_PER_RUN, written to the run's files; returns their count.
 * Each stream is listed from its watermark (the earliest hour open or due at the last planning, less
 * a margin), not from its first hour; without a watermark, all of it.
 */
export const handler = taskHandler(passThrough<{ runId: string }>, async (event) => {
  const { store, config } = columnarRuntime();
  const files = archiveRunFiles(config.prefix, event.runId);
  const plan = await store.getJson<ArchivePlan>(files.plan);
  if (!plan) throw new CorruptStateError(`Plan ${files.plan} is missing`);
  const { streams } = plan.value;
  const listFromMs = await readWatermarks(store, config.prefix, streams);
  const { hours, deferred, watermarks } = await planColumnar(store, config.prefix, streams, {
    maxHours: config.hoursPerRun,
    listFromMs,
  });
  await store.putJson(files.columnarHours, { hours, deferred });
  await writeWatermarks(store, config.prefix, watermarks);
  return { runId: event.runId, count: hours.length, deferred, key: files.columnarHours };
});
