import {
  hourId,
  hourStartMs,
  type ArchiveHour,
  type ColumnarManifest,
  type ManifestFile,
  type ManifestSource,
} from './columnar';
import { parseArchiveObjectKey } from './layout';
import { compareSequenceNumbers } from './sequence';

/**
 * What a reader of one hour of a stream reads (DESIGN.md "Reading converted hours"):
 *
 * - an hour with a manifest: the Parquet files the manifest lists, plus the hour's JSONL objects
 *   the manifest does not list (records archived into the hour after its conversion);
 * - an hour without one: its JSONL objects.
 *
 * Objects partition the records (their keys derive from their sequence ranges), so the listed
 * objects' records are in the Parquet exactly once and the unlisted ones hold only other records:
 * nothing is read twice. A listed key is covered by the Parquet whatever its size now. Parquet
 * files no manifest lists (an unfinished or superseded generation) are never read.
 */
export interface HourSources {
  hour: ArchiveHour;
  /** The manifest's files (empty without a manifest). */
  parquet: ManifestFile[];
  /** Per shard, the sequence range the Parquet holds (from the manifest's sources), by shard id. */
  parquetShards: ParquetShardRange[];
  /** JSONL objects to read: all of the hour's without a manifest, the unlisted ones with one. */
  jsonl: ManifestSource[];
}

export interface ParquetShardRange {
  shardId: string;
  firstSequenceNumber: string;
  lastSequenceNumber: string;
  /** Bytes of the gzip JSONL objects the shard's rows came from (for estimates). */
  sourceBytes: number;
}

/** The shards a manifest's Parquet holds and their sequence ranges, from its sources' keys. */
export function parquetShardRanges(manifest: Pick<ColumnarManifest, 'sources'>): ParquetShardRange[] {
  const ranges = new Map<string, ParquetShardRange>();
  for (const source of manifest.sources) {
    const ref = parseArchiveObjectKey(source.key);
    if (!ref) continue;
    const range = ranges.get(ref.shardId);
    if (!range) {
      ranges.set(ref.shardId, {
        shardId: ref.shardId,
        firstSequenceNumber: ref.firstSequenceNumber,
        lastSequenceNumber: ref.lastSequenceNumber,
        sourceBytes: source.bytes,
      });
      continue;
    }
    if (compareSequenceNumbers(ref.firstSequenceNumber, range.firstSequenceNumber) < 0)
      range.firstSequenceNumber = ref.firstSequenceNumber;
    if (compareSequenceNumbers(ref.lastSequenceNumber, range.lastSequenceNumber) > 0)
      range.lastSequenceNumber = ref.lastSequenceNumber;
    range.sourceBytes += source.bytes;
  }
  return [...ranges.values()].sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
}

/**
 * The sources of every hour of `stream` that has JSONL objects or a manifest, hours in time order.
 * `objects`: the stream's archive listing (other keys ignored); `manifests` by hourId.
 */
export function selectHourSources(
  stream: string,
  objects: readonly ManifestSource[],
  manifests: ReadonlyMap<string, ColumnarManifest>,
): HourSources[] {
  const hours = new Map<string, { hour: ArchiveHour; objects: ManifestSource[] }>();
  for (const object of objects) {
    const ref = parseArchiveObjectKey(object.key);
    if (!ref || ref.stream !== stream) continue;
    const hour = { stream, dt: ref.dt, hr: ref.hr };
    const id = hourId(hour);
    const entry = hours.get(id) ?? { hour, objects: [] };
    entry.objects.push({ key: object.key, bytes: object.bytes });
    hours.set(id, entry);
  }
  for (const manifest of manifests.values()) {
    if (manifest.stream !== stream) continue;
    const hour = { stream, dt: manifest.dt, hr: manifest.hr };
    if (!hours.has(hourId(hour))) hours.set(hourId(hour), { hour, objects: [] });
  }
  return [...hours.values()]
    .sort((a, b) => hourStartMs(a.hour) - hourStartMs(b.hour))
    .map(({ hour, objects: hourObjects }) => {
      const manifest = manifests.get(hourId(hour));
      const sorted = [...hourObjects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      if (!manifest) return { hour, parquet: [], parquetShards: [], jsonl: sorted };
      const listed = new Set(manifest.sources.map((s) => s.key));
      return {
        hour,
        parquet: [...manifest.files],
        parquetShards: parquetShardRanges(manifest),
        jsonl: sorted.filter((o) => !listed.has(o.key)),
      };
    });
}
