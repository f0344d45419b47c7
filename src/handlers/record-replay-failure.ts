import { causeMessage } from '../core/error-cause';
import { replayRunFiles } from '../replay/run-files';
import { replayRuntime } from '../replay/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

interface RecordReplayFailureEvent {
  replayId: string;
  item: { itemId: string };
  error: { Error: string; Cause?: string };
}

/** RecordReplayFailure: a work item failed (e.g. a record could not be delivered); the summary names it. */
export const handler = taskHandler(passThrough<RecordReplayFailureEvent>, async (event) => {
  const { store, config } = replayRuntime();
  const failure = {
    itemId: event.item.itemId,
    error: { name: event.error.Error, message: causeMessage(event.error.Cause) },
  };
  await store.putJson(replayRunFiles(config.prefix, event.replayId).failure(event.item.itemId), failure);
  return { itemId: event.item.itemId, failed: true };
});
