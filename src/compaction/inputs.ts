import { gunzipSync } from 'node:zlib';
import { backoffWithJitter } from '../core/backoff';
import { toUserRecords } from '../core/deaggregate';
import { CorruptStateError, ExpiredIteratorError, ThrottledError } from '../core/errors';
import type { CompactionInput } from '../core/compaction-spec';
import type { IteratorStart, ObjectStore, ShardReader } from '../core/ports';
import { toRecordLine, type RecordLine } from '../core/record-line';

export interface CompactionDeps {
  store: ObjectStore;
  /** Needed only for live inputs. */
  reader?: ShardReader;
  sleep?: (ms: number) => Promise<void>;
}

export interface LiveReadSettings {
  getRecordsLimit: number;
  /** GetRecords throttles in a row before giving up (the state machine's Retry takes over). */
  throttleAttempts: number;
  baseDelayMs: number;
}

export const DEFAULT_LIVE_READ: LiveReadSettings = {
  getRecordsLimit: 10_000,
  throttleAttempts: 8,
  baseDelayMs: 200,
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
  stream: string,
  input: Extract<CompactionInput, { type: 'live' }>,
  settings: LiveReadSettings,
  visit: (line: RecordLine) => void,
  /** Called after each batch (the caller may write buffers out). */
  afterBatch: () => Promise<void> = async () => undefined,
): Promise<void> {
  const reader = deps.reader;
  if (!reader) throw new Error(`Compaction input ${input.id} is live: a ShardReader is needed`);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let last = input.afterSequenceNumber;
  const startAfter = (): IteratorStart =>
    last ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last } : { type: 'TRIM_HORIZON' };
  let iterator = await reader.getIterator(stream, input.shardId, startAfter());
  let throttled = 0;
  for (;;) {
    let batch;
    try {
      batch = await reader.getRecords(iterator, settings.getRecordsLimit);
      throttled = 0;
    } catch (error) {
      if (error instanceof ExpiredIteratorError) {
        iterator = await reader.getIterator(stream, input.shardId, startAfter());
        continue;
      }
      if (error instanceof ThrottledError && ++throttled < settings.throttleAttempts) {
        await sleep(backoffWithJitter(settings.baseDelayMs, throttled));
        continue;
      }
      throw error;
    }
    for (const record of batch.records) {
      if (record.arrivalTimestamp >= input.untilMs) return;
      for (const user of toUserRecords(stream, input.shardId, record)) visit(toRecordLine(user));
      last = record.sequenceNumber;
    }
    await afterBatch();
    if (batch.nextIterator === null) return;
    if (batch.records.length === 0 && batch.millisBehindLatest === 0) return;
    iterator = batch.nextIterator;
  }
}
