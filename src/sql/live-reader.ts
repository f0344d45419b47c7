import { liveStart } from '../reading/live-start';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Checkpoint } from '../core/checkpoint';
import { mapWithConcurrency } from '../core/concurrency';
import { checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import type { ReadDefaults } from '../core/read-policy';
import { readShard, type ShardReadDeps, type ShardReadSettings } from '../reading/shard-read';
import { streamReadPolicy } from '../reading/stream-read-policy';
import { serializeRecordLine } from '../core/record-line';
import type { LiveShard, QueryBounds } from './plan';

/**
 * The live part of `reservoir sql --live`: the records still in the stream past each shard's
 * checkpoint, read like a replay reads its live tail (DESIGN.md "Work items keep per-key order"),
 * de-aggregated into user records and written as record lines to a local JSONL file per shard.
 */

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
  deps: { store: ObjectStore; catalog: StreamCatalog; prefix: string; read: ReadDefaults },
  stream: string,
): Promise<LiveShard[]> {
  const checkpoints = await readCheckpoints(deps.store, deps.prefix, stream);
  const shards = await deps.catalog.listShards(stream);
  const { policy } = await streamReadPolicy(deps.catalog, stream, deps.read);
  const live: LiveShard[] = [];
  for (const shard of shards) {
    const checkpoint = checkpoints.get(shard.shardId);
    if (checkpoint?.drained) continue;
    live.push({
      stream,
      shardId: shard.shardId,
      afterSequenceNumber: await liveStart(deps.store, checkpoint),
      readRate: policy.rate,
    });
  }
  return live;
}

export interface LiveReadSettings extends ShardReadSettings {
  /** Records that arrived at or after this instant are not read (the query's start, or --to). */
  untilMs: number;
  bounds: QueryBounds;
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

/** Reads every shard from its start until an empty read at the tip, the shard's end, or `untilMs`. */
export async function readLiveShards(
  deps: ShardReadDeps,
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
      const counts = await readShardTo(deps, shard, settings, out);
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

async function readShardTo(
  deps: ShardReadDeps,
  shard: LiveShard,
  settings: LiveReadSettings,
  out: WriteStream,
): Promise<{ kinesisRecords: number; records: number }> {
  const fromMs = settings.bounds.fromMs ?? Number.NEGATIVE_INFINITY;
  const toMs = settings.bounds.toMs ?? Number.POSITIVE_INFINITY;
  const after = shard.afterSequenceNumber;
  const read = readShard(deps, settings, {
    stream: shard.stream,
    shardId: shard.shardId,
    start: after ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after } : { type: 'TRIM_HORIZON' },
    mode: { type: 'polling', rate: shard.readRate },
    // Later records are live traffic that arrived after the query started (or past --to).
    untilMs: settings.untilMs,
    stopAtTip: true,
  });
  let kinesisRecords = 0;
  let records = 0;
  for await (const batch of read) {
    let lines = '';
    for (const record of batch.records) {
      kinesisRecords += 1;
      if (record.arrivalTimestamp < fromMs || record.arrivalTimestamp >= toMs) continue;
      for (const user of read.userRecords(record)) {
        lines += `${serializeRecordLine(user)}\n`;
        records += 1;
      }
    }
    await write(out, lines);
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
