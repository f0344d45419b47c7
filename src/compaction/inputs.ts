import { gunzipSync } from 'node:zlib';
import { CorruptStateError } from '../core/errors';
import type { CompactionInput, CompactionSpec } from '../core/compaction-spec';
import type { ObjectStore, ParquetRecordSource } from '../core/ports';
import type { ReadRate } from '../core/read-budget';
import { readShard, type ShardReadDeps, type ShardReadSettings } from '../reading/shard-read';
import { toRecordLine, type RecordLine } from '../core/record-line';

export interface CompactionDeps {
  store: ObjectStore;
  /** Needed only for live inputs. */
  live?: ShardReadDeps;
  /** Needed only for Parquet inputs (only compactPartition carries DuckDB). */
  parquet?: ParquetRecordSource;
}

export type LiveReadSettings = ShardReadSettings & {
  /** The live inputs' polling rate when the spec does not carry its stream's. */
  defaultRate: ReadRate;
};

export const DEFAULT_LIVE_READ: LiveReadSettings = {
  getRecordsLimit: 10_000,
  throttleAttempts: 6,
  throttleBaseDelayMs: 250,
  defaultRate: { callsPerSecond: 1, bytesPerSecond: 1024 * 1024 },
};

export const JSON_LINES = 'application/x-ndjson';

/** A gzipped JSON Lines object, decompressed. A missing object is an error: the plan listed it. */
export async function readGzipObject(store: ObjectStore, key: string, what: string): Promise<Buffer> {
  const body = await store.getObject(key);
  if (!body) throw new CorruptStateError(`${what} ${key} is missing`);
  return gunzipSync(body);
}

/**
 * Reads a live input: the shard's records after `afterSequenceNumber` (de-aggregated), up to the
 * first record that arrived at or after `untilMs`, an empty read at the tip, or the end of a
 * closed shard.
 */
export async function readLiveInput(
  deps: CompactionDeps,
  spec: Pick<CompactionSpec, 'stream' | 'readRate'>,
  input: Extract<CompactionInput, { type: 'live' }>,
  settings: LiveReadSettings,
  visit: (line: RecordLine) => void,
  /** Called after each batch (the caller may write buffers out). */
  afterBatch: () => Promise<void> = async () => undefined,
): Promise<void> {
  if (!deps.live) throw new Error(`Compaction input ${input.id} is live: a shard reader is needed`);
  const after = input.afterSequenceNumber;
  const read = readShard(deps.live, settings, {
    stream: spec.stream,
    shardId: input.shardId,
    start: after ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after } : { type: 'TRIM_HORIZON' },
    mode: { type: 'polling', rate: spec.readRate ?? settings.defaultRate },
    untilMs: input.untilMs,
    stopAtTip: true,
  });
  for await (const batch of read) {
    for (const record of batch.records)
      for (const user of read.userRecords(record)) visit(toRecordLine(user));
    await afterBatch();
  }
}
