import type { ReadRate } from '../core/read-budget';
import { isAbsolute, join } from 'node:path';
import { archiveStreamPrefix, parseArchiveObjectKey, type ArchiveObjectRef } from '../core/layout';
import { hourOverlaps, partitionPrefixes } from '../core/replay-plan';
import { compareSequenceNumbers } from '../core/sequence';
import { parseTimeBound } from '../core/time-bound';

/**
 * Pure planning of `reservoir sql`: which partitions to list, which objects to fetch, where they
 * live in the local cache, and which of them can hold records also read from the stream.
 */

const HOUR = 3_600_000;

/** Arrival-time bounds of a query, epoch ms, [fromMs, toMs); undefined: unbounded on that side. */
export interface QueryBounds {
  fromMs?: number;
  toMs?: number;
}

export class QueryPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryPlanError';
  }
}

function parseInstant(flag: string, text: string): number {
  const ms = parseTimeBound(text);
  if (Number.isNaN(ms)) throw new QueryPlanError(`${flag}: not an ISO-8601 instant: "${text}"`);
  return ms;
}

/** --from / --to as bounds; --to must be after --from. */
export function resolveBounds(from?: string, to?: string): QueryBounds {
  const bounds: QueryBounds = {};
  if (from !== undefined) bounds.fromMs = parseInstant('--from', from);
  if (to !== undefined) bounds.toMs = parseInstant('--to', to);
  if (bounds.fromMs !== undefined && bounds.toMs !== undefined && bounds.toMs <= bounds.fromMs)
    throw new QueryPlanError(`--to (${to}) must be after --from (${from})`);
  return bounds;
}

/**
 * The listing prefixes of a stream's archive that cover the bounds: per hour or per day of the
 * bounded range, the whole stream when there is no lower bound. Without an upper bound the range
 * ends an hour past `nowMs` (records are stamped on arrival; kinesalite stamps a second ahead).
 */
export function archiveListingPrefixes(
  prefix: string,
  stream: string,
  bounds: QueryBounds,
  nowMs: number,
): string[] {
  const streamPrefix = archiveStreamPrefix(prefix, stream);
  if (bounds.fromMs === undefined) return [streamPrefix];
  const toMs = bounds.toMs ?? Math.max(nowMs, bounds.fromMs) + HOUR;
  return partitionPrefixes(bounds.fromMs, toMs).map((partition) => `${streamPrefix}${partition}`);
}

export interface ListedObject {
  key: string;
  bytes: number;
  /** The S3 ETag without its quotes. */
  etag: string;
}

export interface ArchiveFile extends ArchiveObjectRef, ListedObject {}

/** The listed objects that are archive objects of `stream` in an hour partition overlapping the bounds. */
export function selectArchiveObjects(
  listed: readonly ListedObject[],
  stream: string,
  bounds: QueryBounds,
): ArchiveFile[] {
  const fromMs = bounds.fromMs ?? Number.NEGATIVE_INFINITY;
  const toMs = bounds.toMs ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  const selected: ArchiveFile[] = [];
  for (const object of listed) {
    const ref = parseArchiveObjectKey(object.key);
    if (!ref || ref.stream !== stream || seen.has(object.key) || !hourOverlaps(ref, fromMs, toMs)) continue;
    seen.add(object.key);
    selected.push({ ...ref, ...object });
  }
  return selected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** An ETag as a file-name part: quotes dropped, anything but [A-Za-z0-9_-] replaced. */
export function etagForPath(etag: string): string {
  const bare = etag.replace(/^W\//, '').replace(/"/g, '');
  if (bare.length === 0) throw new QueryPlanError('an object without an ETag cannot be cached');
  return bare.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * Where an object is cached: `{cacheDir}/{bucket}/{key}` with `@{etag}` before `.jsonl.gz`
 * (…/1-9@0a1b….jsonl.gz), so a rewritten object (new ETag) is fetched again and the name still
 * says how it is compressed. Keys with `.`/`..` segments are refused: a key never leaves the cache.
 */
export function cachePath(cacheDir: string, bucket: string, key: string, etag: string): string {
  const segments = key.split('/');
  if (
    isAbsolute(key) ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    bucket.includes('/') ||
    bucket === '..' ||
    bucket === '.'
  ) {
    throw new QueryPlanError(`refusing to cache s3://${bucket}/${key}: not a plain object key`);
  }
  const tag = `@${etagForPath(etag)}`;
  const name = segments.pop()!;
  const extension =
    ['.jsonl.gz', '.json.gz', '.gz', '.parquet'].find((ext) => name.endsWith(ext) && name !== ext) ?? '';
  const cached = `${name.slice(0, name.length - extension.length)}${tag}${extension}`;
  return join(cacheDir, bucket, ...segments, cached);
}

/** The cache file name's stem shared by every version of an object (for removing stale versions). */
export function cacheStem(key: string): string {
  const name = key.split('/').pop()!;
  const extension =
    ['.jsonl.gz', '.json.gz', '.gz', '.parquet'].find((ext) => name.endsWith(ext) && name !== ext) ?? '';
  return `${name.slice(0, name.length - extension.length)}@`;
}

/** Where a shard's live read starts: after this sequence number, or at the trim horizon (null). */
export interface LiveShard {
  stream: string;
  shardId: string;
  afterSequenceNumber: string | null;
  /** The stream's polling rate per shard (its read policy). */
  readRate: ReadRate;
}

/**
 * Splits archive objects into those no live record can be in and those that may overlap a live
 * read (its shard is read live from before the object's last record): only the latter are checked
 * against live rows in the view.
 */
export function splitByLiveOverlap<T extends ArchiveObjectRef>(
  objects: readonly T[],
  live: readonly Pick<LiveShard, 'stream' | 'shardId' | 'afterSequenceNumber'>[],
): { settled: T[]; overlapping: T[] } {
  const starts = new Map(
    live.map((shard) => [`${shard.stream}/${shard.shardId}`, shard.afterSequenceNumber]),
  );
  const settled: T[] = [];
  const overlapping: T[] = [];
  for (const object of objects) {
    const id = `${object.stream}/${object.shardId}`;
    if (!starts.has(id)) {
      settled.push(object);
      continue;
    }
    const after = starts.get(id)!;
    const overlaps = after === null || compareSequenceNumbers(object.lastSequenceNumber, after) > 0;
    (overlaps ? overlapping : settled).push(object);
  }
  return { settled, overlapping };
}

/** `stream=NAME/` common prefixes under archive/ or checkpoints/ → stream names. */
export function streamsFromPrefixes(prefixes: readonly string[]): string[] {
  const names = new Set<string>();
  for (const prefix of prefixes) {
    const match = /(?:^|\/)stream=([^/]+)\/$/.exec(prefix);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}
