import {
  columnarStreamPrefix,
  hourId,
  isColumnarManifest,
  parseManifestKey,
  type ColumnarManifest,
} from '../core/columnar';
import { mapWithConcurrency } from '../core/concurrency';
import { CorruptStateError } from '../core/errors';
import { selectHourSources, type HourSources } from '../core/hour-sources';
import { archiveStreamPrefix } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import { hourOverlaps, partitionPrefixes } from '../core/replay-plan';

/** The manifests among listed keys of a stream's columnar tree, read (by hourId). */
export async function readManifests(
  store: ObjectStore,
  stream: string,
  columnarKeys: readonly string[],
): Promise<Map<string, ColumnarManifest>> {
  const manifests = new Map<string, ColumnarManifest>();
  const keys = columnarKeys.filter((key) => parseManifestKey(key)?.stream === stream);
  await mapWithConcurrency(keys, 16, async (key) => {
    const stored = await store.getJson<unknown>(key);
    if (!stored) return;
    if (!isColumnarManifest(stored.value))
      throw new CorruptStateError(`${key} is not a reservoir columnar manifest`);
    manifests.set(hourId(parseManifestKey(key)!), stored.value);
  });
  return manifests;
}

/**
 * The sources of the stream's hours overlapping [fromMs, toMs) (core/hour-sources.ts): lists the
 * hour partitions of the archive and columnar trees the bounds need and reads the manifests there.
 */
export async function listHourSources(
  store: ObjectStore,
  prefix: string,
  stream: string,
  fromMs: number,
  toMs: number,
): Promise<HourSources[]> {
  const partitions = partitionPrefixes(fromMs, toMs);
  const archivePrefix = archiveStreamPrefix(prefix, stream);
  const columnarPrefix = columnarStreamPrefix(prefix, stream);
  const [archive, columnar] = await Promise.all([
    mapWithConcurrency(partitions, 8, (p) => store.listObjects(`${archivePrefix}${p}`)),
    mapWithConcurrency(partitions, 8, (p) => store.listKeys(`${columnarPrefix}${p}`)),
  ]);
  const manifests = await readManifests(store, stream, columnar.flat());
  return selectHourSources(stream, archive.flat(), manifests).filter(({ hour }) =>
    hourOverlaps(hour, fromMs, toMs),
  );
}
