import { archiveRunFiles } from '../archive/run-files';
import { columnarRuntime } from '../columnar/runtime';
import type { ArchiveHour } from '../core/columnar';
import { CorruptStateError } from '../core/errors';
import { passThrough, taskHandler } from './shared/task-handler';

/** LoadColumnarHours: the hours PlanColumnar chose ({stream, dt, hr}: ~60 bytes each), for the Map. */
export const handler = taskHandler(passThrough<{ runId: string }>, async (event) => {
  const { store, config } = columnarRuntime();
  const key = archiveRunFiles(config.prefix, event.runId).columnarHours;
  const stored = await store.getJson<{ hours: ArchiveHour[] }>(key);
  if (!stored) throw new CorruptStateError(`Columnar plan ${key} is missing`);
  return { items: stored.value.hours };
});
