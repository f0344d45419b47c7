import { gzipSync } from 'node:zlib';
import { backoffWithJitter } from '../core/backoff';
import { toUserRecords } from '../core/deaggregate';
import { ExpiredIteratorError, ThrottledError } from '../core/errors';
import type { IteratorStart, ObjectStore, ShardReader } from '../core/ports';
import { serializeRecordLine } from '../core/record-line';
import { queryWindowFiles } from './files';
import type { LiveShard } from './prepare';

/** Where a shard's snapshot resumes: after `after`, writing part `part` next. */
export interface SnapshotProgress {
  after: string | null;
  part: number;
  records: number;
  done: boolean;
}

export interface SnapshotSettings {
  getRecordsLimit: number;
  throttleAttempts: number;
  partRecords: number;
}

export interface SnapshotDeps {
  store: ObjectStore;
  reader: ShardReader;
  prefix: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * SnapshotLiveTail, one shard: copies the records after its last archived one, up to the window's
 * opening (`cutoff`, epoch ms), into record lines under the window's live/ prefix, the archive's
 * own format, so Hive and Drill read them like the archive. Parts are cut between Kinesis records
 * and named by number; progress moves only after a part is written, and a retried invocation
 * rewrites the same part from the same point. Returns done: false when its time budget ends.
 */
export async function snapshotLiveShard(
  deps: SnapshotDeps,
  settings: SnapshotSettings,
  /** `deadline`: epoch ms after which no new read starts (invocationDeadline). */
  event: { windowId: string; cutoff: number; shard: LiveShard; deadline: number },
): Promise<{ done: boolean; records: number }> {
  const { store, reader } = deps;
  const { stream, shardId } = event.shard;
  const files = queryWindowFiles(deps.prefix, event.windowId);
  const progressKey = files.liveProgress(stream, shardId);
  const progress: SnapshotProgress = (await store.getJson<SnapshotProgress>(progressKey))?.value ?? {
    after: event.shard.after,
    part: 0,
    records: 0,
    done: false,
  };
  if (progress.done) return { done: true, records: progress.records };
  const { deadline } = event;

  const start = (after: string | null): IteratorStart =>
    after ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after } : { type: 'TRIM_HORIZON' };
  let lines: string[] = [];
  let lastRead = progress.after;

  const flush = async (done: boolean) => {
    if (lines.length > 0) {
      const body = gzipSync(`${lines.join('\n')}\n`);
      await store.putObject(
        files.liveObject(stream, shardId, progress.part),
        body,
        'application/x-ndjson',
        'gzip',
      );
      progress.records += lines.length;
      progress.part += 1;
      lines = [];
    }
    progress.after = lastRead;
    progress.done = done;
    await store.putJson(progressKey, progress);
  };

  let iterator = await reader.getIterator(stream, shardId, start(progress.after));
  let throttled = 0;
  for (;;) {
    if (deps.now() >= deadline) {
      await flush(false);
      return { done: false, records: progress.records };
    }
    let batch;
    try {
      batch = await reader.getRecords(iterator, settings.getRecordsLimit);
      throttled = 0;
    } catch (error) {
      if (error instanceof ExpiredIteratorError) {
        iterator = await reader.getIterator(stream, shardId, start(lastRead));
        continue;
      }
      if (error instanceof ThrottledError && ++throttled < settings.throttleAttempts) {
        await deps.sleep(backoffWithJitter(200, throttled));
        continue;
      }
      throw error;
    }
    for (const record of batch.records) {
      // The snapshot ends where the window opened: later records are not in it.
      if (record.arrivalTimestamp >= event.cutoff) {
        await flush(true);
        return { done: true, records: progress.records };
      }
      for (const user of toUserRecords(stream, shardId, record)) lines.push(serializeRecordLine(user));
      lastRead = record.sequenceNumber;
      if (lines.length >= settings.partRecords) await flush(false);
    }
    if (batch.nextIterator === null || (batch.records.length === 0 && batch.millisBehindLatest === 0)) {
      await flush(true);
      return { done: true, records: progress.records };
    }
    iterator = batch.nextIterator;
  }
}
