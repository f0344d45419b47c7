import { loadReplay } from '../replay/load-replay';
import { storePacePlan } from '../replay/pace-schedule';
import { planReplay } from '../replay/plan-replay';
import { replayRuntime } from '../replay/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

/**
 * PlanReplay: archive objects in bounds (partition-pruned) and the live tail, as work items in S3;
 * for a paced replay, this execution's schedule (every item follows it).
 */
export const handler = taskHandler(passThrough<{ replayId: string }>, async (event) => {
  const { store, catalog, config } = replayRuntime();
  const replay = await loadReplay(store, config.prefix, event.replayId);
  const plan = await planReplay(
    { store, catalog, prefix: config.prefix, pageSize: config.itemsPerPage },
    replay,
  );
  const pace = await storePacePlan(store, config.prefix, replay, Date.now());
  return pace ? { ...plan, pace } : plan;
});
