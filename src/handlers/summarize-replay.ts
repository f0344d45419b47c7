import { mapWithConcurrency } from '../core/concurrency';
import { CorruptStateError } from '../core/errors';
import { summarizeReplay, type ReplayItemOutcome } from '../core/replay-summary';
import { loadReplay } from '../replay/load-replay';
import type { StoredReplayPlan } from '../replay/plan-replay';
import type { ReplayProgress } from '../replay/replay-worker';
import { replayRunFiles } from '../replay/run-files';
import { replayRuntime } from '../replay/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

/** SummarizeReplay: records read, matched and put, and throttled retries, from the items' markers. */
export const handler = taskHandler(passThrough<{ replayId: string }>, async (event) => {
  const { store, config } = replayRuntime();
  const files = replayRunFiles(config.prefix, event.replayId);
  const replay = await loadReplay(store, config.prefix, event.replayId);
  const plan = await store.getJson<StoredReplayPlan>(files.plan);
  if (!plan) throw new CorruptStateError(`Replay plan ${files.plan} is missing`);
  const outcomes = await mapWithConcurrency(
    plan.value.items,
    16,
    async ({ itemId }): Promise<ReplayItemOutcome> => {
      const [progress, failure] = await Promise.all([
        store.getJson<ReplayProgress>(files.progress(itemId)),
        store.getJson<{ error: { name: string; message: string } }>(files.failure(itemId)),
      ]);
      const counts = progress?.value.counts ?? { read: 0, matched: 0, put: 0, throttledRetries: 0 };
      const done = progress?.value.done ?? false;
      return { itemId, done, ...counts, ...(failure && !done ? { error: failure.value.error } : {}) };
    },
  );
  const summary = summarizeReplay({
    replayId: replay.replayId,
    stream: replay.stream,
    target: replay.target,
    format: replay.format,
    summaryKey: files.summary,
    outcomes,
  });
  await store.putJson(files.summary, summary);
  return { ...summary, failedItems: summary.failedItems.slice(0, 50) };
});
