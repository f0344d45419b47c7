import type { ShardWorkItem } from '../archive/plan';
import { archiveRunFiles } from '../archive/run-files';
import { archiveRuntime } from '../archive/runtime';
import { CorruptStateError } from '../core/errors';
import { passThrough, taskHandler } from './shared/task-handler';

interface LoadShardPageEvent {
  runId: string;
  index: number;
}

/** LoadShardPage: the work items of one page, for the next Map. */
export const handler = taskHandler(passThrough<LoadShardPageEvent>, async (event) => {
  const { store, config } = archiveRuntime();
  const key = archiveRunFiles(config.prefix, event.runId).page(event.index);
  const page = await store.getJson<{ items: ShardWorkItem[] }>(key);
  if (!page) throw new CorruptStateError(`Plan page ${key} is missing`);
  return { index: event.index, items: page.value.items };
});
