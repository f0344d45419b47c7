import { gzipSync } from 'node:zlib';
import type { ObjectStore } from '../core/ports';
import type { ReadRate } from '../core/read-budget';
import { readShard, type ShardReadDeps, type ShardReadSettings } from '../reading/shard-read';
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

export interface SnapshotSettings extends ShardReadSettings {
  partRecords: number;
  /** The polling rate when the shard does not carry its stream's. */
  defaultRate: ReadRate;
}

export interface SnapshotDeps extends ShardReadDeps {
  store: ObjectStore;
  prefix: string;
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
  const { store } = deps;
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

  const read = readShard(deps, settings, {
    stream,
    shardId,
    start: progress.after
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: progress.after }
      : { type: 'TRIM_HORIZON' },
    mode: { type: 'polling', rate: event.shard.readRate ?? settings.defaultRate },
    // The snapshot ends where the window opened: later records are not in it.
    untilMs: event.cutoff,
    deadline: event.deadline,
    stopAtTip: true,
  });
  for await (const batch of read) {
    for (const record of batch.records) {
      for (const user of read.userRecords(record)) lines.push(serializeRecordLine(user));
      lastRead = record.sequenceNumber;
      if (lines.length >= settings.partRecords) await flush(false);
    }
  }
  const done = read.end !== 'deadline';
  await flush(done);
  return { done, records: progress.records };
}
