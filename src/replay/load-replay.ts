import { CorruptStateError } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import type { ResolvedReplay } from '../core/replay-request';
import { replayRunFiles } from './run-files';

/** The resolved replay stored by ValidateReplay. */
export async function loadReplay(
  store: ObjectStore,
  prefix: string,
  replayId: string,
): Promise<ResolvedReplay> {
  const key = replayRunFiles(prefix, replayId).request;
  const stored = await store.getJson<{ resolved: ResolvedReplay }>(key);
  if (!stored) throw new CorruptStateError(`Replay request ${key} is missing`);
  return stored.value.resolved;
}
