import { processReadBudget, sleep } from '../reading/process-budget';
import { ARRIVAL_CLOCK_SLACK_MS } from '../reading/shard-read';
import { rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { kinesisClient, s3Client } from '../aws/clients';
import { KinesisShardReader, KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3ObjectStore } from '../aws/s3-adapter';
import { loadSqlSettings, type SqlSettings } from '../config/sql-config';
import { mapWithConcurrency } from '../core/concurrency';
import { CorruptStateError, StreamNotFoundError } from '../core/errors';
import { SqlEngine, type QueryOutput, type QueryResult } from './engine';
import { planLiveShards, readLiveShards, type LiveShardResult } from './live-reader';
import { ObjectCache, type FetchStats } from './object-cache';
import {
  archiveListingPrefixes,
  resolveBounds,
  selectArchiveObjects,
  splitByLiveOverlap,
  streamsFromPrefixes,
  type ArchiveFile,
  type ListedObject,
  type LiveShard,
  type QueryBounds,
} from './plan';
import { S3Lister } from './s3-listing';
import { readManifests } from '../columnar/hour-sources';
import { columnarStreamPrefix, parseManifestKey } from '../core/columnar';
import { selectHourSources } from '../core/hour-sources';
import { archiveStreamPrefix } from '../core/layout';
import { hourOverlaps } from '../core/replay-plan';

/** An archive listing prefix's counterpart in the columnar tree (the same dt=/hr= partitions). */
function columnarListingPrefix(prefix: string, stream: string, archivePrefix: string): string {
  return `${columnarStreamPrefix(prefix, stream)}${archivePrefix.slice(archiveStreamPrefix(prefix, stream).length)}`;
}

/** What `reservoir sql` is asked. */
export interface SqlRunOptions {
  query: string;
  /** Streams in the view; default: every stream with archive objects or checkpoints in the bucket. */
  streams?: string[];
  /** Arrival-time bounds, ISO-8601 (inclusive from, exclusive to). */
  from?: string;
  to?: string;
  /** Also read the records still in the streams, past each shard's checkpoint. */
  live?: boolean;
  /** Where the result goes: stdout in a format, or a file (COPY, by extension). */
  output: QueryOutput;
  /** Local cache of archive objects; default RESERVOIR_SQL_CACHE or .reservoir/cache. */
  cacheDir?: string;
  /** The archive bucket and key prefix; default RESERVOIR_BUCKET and RESERVOIR_PREFIX. */
  bucket?: string;
  prefix?: string;
}

export interface SqlRunHooks {
  /** A line for the person at the terminal (stderr). */
  log?: (line: string) => void;
  onDownload?: (done: { objects: number; bytes: number }, total: { objects: number; bytes: number }) => void;
  onDownloadsDone?: () => void;
}

export interface SqlRunReport {
  bucket: string;
  streams: string[];
  bounds: QueryBounds;
  /** Every ListObjectsV2 prefix listed for archive objects. */
  listedPrefixes: string[];
  /**
   * The archive objects and Parquet files in the view (after partition pruning and the choice of
   * Parquet for converted hours); `overlapsLive`: it may hold records
   * also read live, so live rows are checked against it.
   */
  objects: { key: string; bytes: number; path: string; overlapsLive: boolean }[];
  fetch: FetchStats;
  live: { shards: LiveShardResult[]; records: number; skippedStreams: string[] } | null;
  result: QueryResult;
  timings: { planMs: number; fetchMs: number; liveMs: number; queryMs: number };
}

/** The streams in the bucket: those with archive objects or checkpoints. */
export async function archivedStreams(lister: S3Lister, prefix: string): Promise<string[]> {
  const [archive, checkpoints] = await Promise.all([
    lister.listPrefixes(`${prefix}archive/`),
    lister.listPrefixes(`${prefix}checkpoints/`),
  ]);
  return streamsFromPrefixes([...archive, ...checkpoints]);
}

/**
 * `reservoir sql`: lists the archive partitions the bounds need, makes those objects local
 * (downloaded in parallel into a cache keyed by key and ETag, reused across queries), with --live
 * reads what each shard holds past its checkpoint, then runs the query in DuckDB over the
 * `records` view of src/sql/records-view.ts.
 */
export async function runSql(options: SqlRunOptions, hooks: SqlRunHooks = {}): Promise<SqlRunReport> {
  const settings = loadSqlSettings(options);
  const bounds = resolveBounds(options.from, options.to);
  const startedAt = Date.now();
  const engine = await SqlEngine.open({
    tempDirectory: join(settings.cacheDir, 'tmp'),
    threads: settings.threads,
  });
  try {
    // The view's columns exist before its files do: a wrong query fails before any download.
    await engine.defineRecords({ archive: [] });
    await engine.check(options.query);
    return await planFetchAndRun(options, hooks, settings, bounds, startedAt, engine);
  } finally {
    engine.close();
  }
}

async function planFetchAndRun(
  options: SqlRunOptions,
  hooks: SqlRunHooks,
  settings: SqlSettings,
  bounds: QueryBounds,
  startedAt: number,
  engine: SqlEngine,
): Promise<SqlRunReport> {
  const log = hooks.log ?? (() => undefined);
  const lister = new S3Lister(s3Client(), settings.bucket);
  const store = new S3ObjectStore(s3Client(), settings.bucket);

  const streams = options.streams?.length
    ? [...new Set(options.streams)]
    : await archivedStreams(lister, settings.prefix);
  if (streams.length === 0) log(`no archived streams in s3://${settings.bucket}/${settings.prefix}`);

  // Checkpoints before the listing: an archive run in between makes archive and live overlap (the
  // view keeps one copy), never leaves a hole between them.
  const liveShards: LiveShard[] = [];
  const skippedStreams: string[] = [];
  if (options.live) {
    const catalog = new KinesisStreamCatalog(kinesisClient());
    for (const stream of streams) {
      try {
        liveShards.push(
          ...(await planLiveShards({ store, catalog, prefix: settings.prefix, read: settings }, stream)),
        );
      } catch (error) {
        if (!(error instanceof StreamNotFoundError)) throw error;
        skippedStreams.push(stream);
        log(`--live: stream ${stream} does not exist (any more): its archive only`);
      }
    }
  }

  const listings = await mapWithConcurrency(
    streams.flatMap((stream) =>
      archiveListingPrefixes(settings.prefix, stream, bounds, startedAt).flatMap((prefix) => [
        { stream, prefix },
        { stream, prefix: columnarListingPrefix(settings.prefix, stream, prefix) },
      ]),
    ),
    8,
    async ({ stream, prefix }) => ({ stream, listed: await lister.listObjects(prefix) }),
  );
  const byStream = new Map<string, ListedObject[]>();
  for (const { stream, listed } of listings)
    byStream.set(stream, [...(byStream.get(stream) ?? []), ...listed]);
  // Converted hours: their manifests' Parquet files replace the JSONL objects they list.
  const parquet: ListedObject[] = [];
  const objects: ArchiveFile[] = [];
  for (const stream of streams) {
    const listed = byStream.get(stream) ?? [];
    const inBounds = selectArchiveObjects(listed, stream, bounds);
    const manifests = await readManifests(
      store,
      stream,
      listed
        .map((o) => o.key)
        .filter((key) => {
          const hour = parseManifestKey(key);
          return hour !== null && hourOverlaps(hour, bounds.fromMs ?? -Infinity, bounds.toMs ?? Infinity);
        }),
    );
    const selected = selectHourSources(stream, inBounds, manifests);
    const jsonl = new Set(selected.flatMap((h) => h.jsonl.map((o) => o.key)));
    objects.push(...inBounds.filter((o) => jsonl.has(o.key)));
    const listedByKey = new Map(listed.map((o) => [o.key, o]));
    for (const file of selected.flatMap((h) => h.parquet)) {
      const object = listedByKey.get(file.key);
      if (!object)
        throw new CorruptStateError(`${file.key} is missing: its manifest lists it (run the query again)`);
      parquet.push(object);
    }
  }
  for (const stream of streams) {
    if (
      !objects.some((o) => o.stream === stream) &&
      !parquet.some((o) => o.key.startsWith(columnarStreamPrefix(settings.prefix, stream)))
    )
      log(
        `stream ${stream}: no archive objects${bounds.fromMs !== undefined || bounds.toMs !== undefined ? ' within the bounds' : ''}`,
      );
  }
  const planMs = Date.now() - startedAt;

  const cache = new ObjectCache({
    client: s3Client(),
    bucket: settings.bucket,
    dir: settings.cacheDir,
    concurrency: settings.downloadConcurrency,
    onProgress: hooks.onDownload,
  });
  const fetchStarted = Date.now();
  const everything: ListedObject[] = [...objects, ...parquet];
  const { paths, stats } = await cache.ensure(everything);
  hooks.onDownloadsDone?.();
  const fetchMs = Date.now() - fetchStarted;
  const pathOf = new Map(everything.map((object, i) => [object.key, paths[i]!]));
  log(
    `${objects.length} archive object(s) and ${parquet.length} Parquet file(s) ` +
      `(${size(everything.reduce((s, o) => s + o.bytes, 0))}) in ${streams.length} stream(s): ` +
      `${stats.fetched.length} downloaded (${size(stats.fetchedBytes)}), ${stats.reused} from the cache ${settings.cacheDir}`,
  );

  const liveDir = join(settings.cacheDir, 'live', `${process.pid}-${startedAt}`);
  try {
    let live: SqlRunReport['live'] = null;
    const liveStarted = Date.now();
    if (options.live) {
      const results = await readLiveShards(
        {
          reader: new KinesisShardReader(kinesisClient()),
          budget: processReadBudget(),
          sleep,
          now: Date.now,
        },
        liveShards,
        liveDir,
        {
          // Records that arrived after the query started are not waited for (under steady traffic
          // a read at the tip is never empty).
          untilMs: Math.min(startedAt + ARRIVAL_CLOCK_SLACK_MS, bounds.toMs ?? Number.POSITIVE_INFINITY),
          bounds,
          getRecordsLimit: settings.getRecordsLimit,
          throttleAttempts: settings.throttleAttempts,
          throttleBaseDelayMs: settings.throttleBaseDelayMs,
          concurrency: 16,
        },
      );
      live = { shards: results, records: results.reduce((s, r) => s + r.records, 0), skippedStreams };
      log(`live: ${live.records} record(s) past the checkpoints of ${results.length} shard(s)`);
    }
    const liveMs = Date.now() - liveStarted;

    const { settled, overlapping } = splitByLiveOverlap(objects, liveShards);
    const overlapKeys = new Set(overlapping.map((o) => o.key));
    const queryStarted = Date.now();
    await engine.defineRecords({
      archive: settled.map((o) => pathOf.get(o.key)!),
      archiveOverlappingLive: overlapping.map((o) => pathOf.get(o.key)!),
      live: live?.shards.filter((s) => s.records > 0).map((s) => s.file) ?? [],
      parquet: parquet.map((o) => pathOf.get(o.key)!),
      fromMs: bounds.fromMs,
      toMs: bounds.toMs,
    });
    const result = await engine.execute(options.query, options.output);
    return {
      bucket: settings.bucket,
      streams,
      bounds,
      listedPrefixes: [...lister.listedPrefixes],
      objects: [
        ...objects.map((o) => ({
          key: o.key,
          bytes: o.bytes,
          path: pathOf.get(o.key)!,
          overlapsLive: overlapKeys.has(o.key),
        })),
        ...parquet.map((o) => ({
          key: o.key,
          bytes: o.bytes,
          path: pathOf.get(o.key)!,
          overlapsLive: false,
        })),
      ],
      fetch: stats,
      live,
      result,
      timings: { planMs, fetchMs, liveMs, queryMs: Date.now() - queryStarted },
    };
  } finally {
    await rm(liveDir, { recursive: true, force: true });
    await rmdir(dirname(liveDir)).catch(() => undefined); // only when no other query is using it
  }
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  for (; value >= 1024 && unit < units.length - 1; unit++) value /= 1024;
  return `${value.toFixed(1)} ${units[unit]}`;
}
