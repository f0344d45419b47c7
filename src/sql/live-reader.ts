import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { backoffWithJitter } from '../core/backoff';
import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { toUserRecords } from '../core/deaggregate';
import { ExpiredIteratorError, ThrottledError } from '../core/errors';
import { checkpointStreamPrefix } from '../core/layout';
import type { IteratorStart, ObjectStore, ShardReader, StreamCatalog } from '../core/ports';
import { serializeRecordLine } from '../core/record-line';
import type { LiveShard, QueryBounds } from './plan';

/**
 * The live part of `reservoir sql --live`: the records still in the stream past each shard's
 * checkpoint, read like a replay reads its live tail (DESIGN.md "Work items keep per-key order"),
 * de-aggregated into user records and written as record lines to a local JSONL file per shard.
 */

/**
 * Where a shard's live read starts: after the last archived record, or after the pending block
 * when its object was written (its records are in the archive listing then). No checkpoint: the
 * trim horizon. The same rule as the replay planner's.
 */
export async function liveStart(
  store: ObjectStore,
  checkpoint: Checkpoint | undefined,
): Promise<string | null> {
  if (!checkpoint) return null;
  if (checkpoint.pending && (await store.exists(checkpoint.pending.key)))
    return checkpoint.pending.lastSequenceNumber;
  return checkpoint.lastSequenceNumber;
}

/** The stream's checkpoints, by shard id. */
export async function readCheckpoints(
  store: ObjectStore,
  prefix: string,
  stream: string,
): Promise<Map<string, Checkpoint>> {
  const keys = await store.listKeys(checkpointStreamPrefix(prefix, stream));
  const checkpoints = await mapWithConcurrency(
    keys,
    16,
    async (key) => (await store.getJson<Checkpoint>(key))?.value ?? null,
  );
  return new Map(checkpoints.filter((c): c is Checkpoint => c !== null).map((c) => [c.shardId, c]));
}

/**
 * The shards to read live and where each starts: every shard Kinesis lists, except those whose
 * checkpoint says drained (closed and archived to the end). Checkpoints are read before the archive
 * is listed: an archive run in between only makes the two overlap, and the view keeps one copy.
 */
export async function planLiveShards(
  deps: { store: ObjectStore; catalog: StreamCatalog; prefix: string },
  stream: string,
): Promise<LiveShard[]> {
  const checkpoints = await readCheckpoints(deps.store, deps.prefix, stream);
  const shards = await deps.catalog.listShards(stream);
  const live: LiveShard[] = [];
  for (const shard of shards) {
    const checkpoint = checkpoints.get(shard.shardId);
    if (checkpoint?.drained) continue;
    live.push({
      stream,
      shardId: shard.shardId,
      afterSequenceNumber: await liveStart(deps.store, checkpoint),
    });
  }
  return live;
}

export interface LiveReadSettings {
  /** Records that arrived at or after this instant are not read (the query's start, or --to). */
  untilMs: number;
  bounds: QueryBounds;
  getRecordsLimit: number;
  /** Minimum time between two GetRecords calls on one shard (5 calls/s per shard are shared). */
  pollIntervalMs: number;
  throttleAttempts: number;
  throttleBaseDelayMs: number;
  /** Shards read at once. */
  concurrency: number;
}

export interface LiveShardResult extends LiveShard {
  file: string;
  /** Kinesis records read past the start. */
  kinesisRecords: number;
  /** User records written (within the bounds). */
  records: number;
}

export interface LiveReadDeps {
  reader: ShardReader;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/** Reads every shard from its start until an empty read at the tip, the shard's end, or `untilMs`. */
export async function readLiveShards(
  deps: LiveReadDeps,
  shards: readonly LiveShard[],
  dir: string,
  settings: LiveReadSettings,
  onShardDone?: (result: LiveShardResult) => void,
): Promise<LiveShardResult[]> {
  return mapWithConcurrency(shards, settings.concurrency, async (shard) => {
    const file = join(dir, encodeURIComponent(shard.stream), `${encodeURIComponent(shard.shardId)}.jsonl`);
    await mkdir(dirname(file), { recursive: true });
    const out = createWriteStream(file);
    try {
      const counts = await readShard(deps, shard, settings, out);
      await closeStream(out);
      const result = { ...shard, file, ...counts };
      onShardDone?.(result);
      return result;
    } catch (error) {
      out.destroy();
      throw error;
    }
  });
}

async function readShard(
  deps: LiveReadDeps,
  shard: LiveShard,
  settings: LiveReadSettings,
  out: WriteStream,
): Promise<{ kinesisRecords: number; records: number }> {
  const { reader } = deps;
  const fromMs = settings.bounds.fromMs ?? Number.NEGATIVE_INFINITY;
  const toMs = settings.bounds.toMs ?? Number.POSITIVE_INFINITY;
  const startAfter = (sequenceNumber: string | null): IteratorStart =>
    sequenceNumber ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber } : { type: 'TRIM_HORIZON' };
  let lastRead = shard.afterSequenceNumber;
  let iterator = await reader.getIterator(shard.stream, shard.shardId, startAfter(lastRead));
  let kinesisRecords = 0;
  let records = 0;
  let throttled = 0;
  let lastCall = 0;
  for (;;) {
    const wait = lastCall + settings.pollIntervalMs - deps.now();
    if (wait > 0) await deps.sleep(wait);
    lastCall = deps.now();
    let batch;
    try {
      batch = await reader.getRecords(iterator, settings.getRecordsLimit);
      throttled = 0;
    } catch (error) {
      if (error instanceof ExpiredIteratorError) {
        iterator = await reader.getIterator(shard.stream, shard.shardId, startAfter(lastRead));
        continue;
      }
      if (error instanceof ThrottledError && ++throttled < settings.throttleAttempts) {
        await deps.sleep(backoffWithJitter(settings.throttleBaseDelayMs, throttled));
        continue;
      }
      throw error;
    }
    let lines = '';
    for (const record of batch.records) {
      // Later records are live traffic that arrived after the query started (or past --to).
      if (record.arrivalTimestamp >= settings.untilMs) {
        await write(out, lines);
        return { kinesisRecords, records };
      }
      kinesisRecords += 1;
      lastRead = record.sequenceNumber;
      if (record.arrivalTimestamp < fromMs || record.arrivalTimestamp >= toMs) continue;
      for (const user of toUserRecords(shard.stream, shard.shardId, record)) {
        lines += `${serializeRecordLine(user)}\n`;
        records += 1;
      }
    }
    await write(out, lines);
    if (batch.nextIterator === null) break;
    // kinesalite answers MillisBehindLatest 0 on every read: only an empty read proves the tip.
    if (batch.records.length === 0 && batch.millisBehindLatest === 0) break;
    iterator = batch.nextIterator;
  }
  return { kinesisRecords, records };
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (text.length === 0) return;
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

function closeStream(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}
