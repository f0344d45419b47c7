import { normalizePrefix } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import type { AcknowledgedGapRange } from '../core/verify';

/**
 * The acknowledged gaps of a stream, from the keys of the gap ledger
 * (`{prefix}gaps/stream={stream}/{shardId}/{from}-{to}.json`, /work/shared DESIGN.md): the key
 * alone names the shard and the range. (To be replaced by core/gap-ledger.ts's parser.)
 */
const GAP_KEY = /gaps\/stream=([^/]+)\/([^/]+)\/(\d*)-(\d*)\.json$/;

export function parseAcknowledgedGapKey(key: string): (AcknowledgedGapRange & { stream: string }) | null {
  const match = GAP_KEY.exec(key);
  return match ? { stream: match[1]!, shardId: match[2]!, from: match[3]!, to: match[4]! } : null;
}

export async function listAcknowledgedGaps(
  store: ObjectStore,
  prefix: string,
  stream: string,
): Promise<AcknowledgedGapRange[]> {
  const keys = await store.listKeys(`${normalizePrefix(prefix)}gaps/stream=${stream}/`);
  return keys
    .map(parseAcknowledgedGapKey)
    .filter((gap): gap is AcknowledgedGapRange & { stream: string } => gap?.stream === stream)
    .map(({ shardId, from, to }) => ({ shardId, from, to }));
}
