import { CorruptStateError } from '../core/errors';
import { replayRunFiles } from '../replay/run-files';
import { replayRuntime } from '../replay/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

/** LoadReplayPage: the work item ids of one page, for the next Map. */
export const handler = taskHandler(passThrough<{ replayId: string; index: number }>, async (event) => {
  const { store, config } = replayRuntime();
  const key = replayRunFiles(config.prefix, event.replayId).page(event.index);
  const page = await store.getJson<{ items: { itemId: string }[] }>(key);
  if (!page) throw new CorruptStateError(`Replay page ${key} is missing`);
  return { index: event.index, items: page.value.items };
});
