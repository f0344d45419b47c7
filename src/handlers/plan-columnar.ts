import type { ArchivePlan } from '../archive/plan';
import { archiveRunFiles } from '../archive/run-files';
import { planColumnar } from '../columnar/plan';
import { columnarRuntime } from '../columnar/runtime';
import { CorruptStateError } from '../core/errors';
import { passThrough, taskHandler } from './shared/task-handler';

/**
 * PlanColumnar: the closed hours of the run's streams whose Parquet is missing or stale, oldest
 * first and at most RESERVOIR_COLUMNAR_HOURS_PER_RUN, written to the run's files; returns their count.
 */
export const handler = taskHandler(passThrough<{ runId: string }>, async (event) => {
  const { store, config } = columnarRuntime();
  const files = archiveRunFiles(config.prefix, event.runId);
  const plan = await store.getJson<ArchivePlan>(files.plan);
  if (!plan) throw new CorruptStateError(`Plan ${files.plan} is missing`);
  const { hours, deferred } = await planColumnar(store, config.prefix, plan.value.streams, {
    maxHours: config.hoursPerRun,
  });
  await store.putJson(files.columnarHours, { hours, deferred });
  return { runId: event.runId, count: hours.length, deferred, key: files.columnarHours };
});
