import { invocationDeadline } from '../config/base-config';
import type { Context } from 'aws-lambda';
import { workerParquetSource } from '../columnar/worker-parquet';
import type { ReplayWorkItem } from '../core/replay-plan';
import { loadReplay } from '../replay/load-replay';
import { assertItem } from '../replay/replay-worker';
import { replayRunFiles } from '../replay/run-files';
import { replayRuntime } from '../replay/runtime';
import { recordReplayProgress } from '../telemetry/workflow-metrics';
import { passThrough, taskHandler } from './shared/task-handler';

/** ReplayItem: puts one work item's records, in order per key; `done: false` makes the state machine loop. */
export const handler = taskHandler(
  passThrough<{ replayId: string; item: { itemId: string } }>,
  async (event, context: Context, { metrics }) => {
    const { store, config, worker } = replayRuntime();
    const replay = await loadReplay(store, config.prefix, event.replayId);
    const key = replayRunFiles(config.prefix, event.replayId).item(event.item.itemId);
    const item = assertItem((await store.getJson<ReplayWorkItem>(key))?.value ?? null, key);
    const result = await worker.run(
      replay,
      item,
      invocationDeadline(config, context.getRemainingTimeInMillis()),
      workerParquetSource(store),
    );
    recordReplayProgress(metrics, {
      targetStream: replay.target,
      replayId: replay.replayId,
      ...result.invocation,
    });
    return result;
  },
  { logKeys: (event) => ({ itemId: event.item.itemId }) },
);
