import { CorruptStateError, ReplayStoppedError } from '../core/errors';
import { encodeEnvelope } from '../core/envelope';
import { compileFilter, type FilterEvent } from '../core/filter-pattern';
import { compactionFilterEvent } from '../core/compaction-entry';
import type { ObjectStore, ParquetRecordSource, RecordWriter } from '../core/ports';
import type { ReadRate } from '../core/read-budget';
import type { PutEntry } from '../core/put-batcher';
import { decodePayload, toRecordLine, type RecordLine } from '../core/record-line';
import { DEFAULT_MAX_RECORD_BYTES, recordBytes, recordTooLarge } from '../core/record-size';
import type { ReplaySegment, ReplayWorkItem } from '../core/replay-plan';
import type { ResolvedReplay } from '../core/replay-request';
import { PaceGate, paceDecision } from '../core/replay-pace';
import { paceScheduleOf } from './pace-schedule';
import { readArchiveObject } from '../archive/archive-reader';
import { readShard, type ShardReadDeps, type ShardReadSettings } from '../reading/shard-read';
import { RecordPutter, type PutterSettings } from './record-putter';
import { replayRunFiles, type ReplayStopMarker } from './run-files';

export interface ReplayCounts {
  read: number;
  matched: number;
  put: number;
  throttledRetries: number;
}

/** A work item's completion marker and resume point. */
export interface ReplayProgress {
  itemId: string;
  done: boolean;
  /** The first record not yet put: segment index, lines consumed (archive) or last sequence read (live). */
  cursor: { segment: number; lines: number; afterSequenceNumber: string | null };
  counts: ReplayCounts;
  /** Arrival time of the last record put (a paced replay run again resumes its schedule there). */
  lastArrival?: number;
  updatedAt: string;
}

/**
 * Bytes of records (data plus keys) a work item holds before putting them: with records up to
 * 10 MiB, at most 3 of them plus the one that crossed the line.
 */
export const PENDING_MAX_BYTES = 32 * 1024 * 1024;

export interface ReplayWorkerSettings extends Omit<PutterSettings, 'maxRecordBytes'>, ShardReadSettings {
  prefix: string;
  /** Matched records put before the resume point is saved (a crash re-puts at most this many). */
  flushRecords: number;
  /** The live tail's polling rate when the replay does not carry its stream's. */
  defaultRate: ReadRate;
}

export interface ReplayWorkerDeps extends ShardReadDeps {
  store: ObjectStore;
  writer: RecordWriter;
  /** Reads Parquet segments (only the replayItem handler carries DuckDB). */
  parquet?: ParquetRecordSource;
}

export interface ReplayItemResult extends ReplayCounts {
  itemId: string;
  done: boolean;
  /** What this invocation alone put and retried (the counts above are the item's totals). */
  invocation: { put: number; throttledRetries: number };
}

/**
 * Replays one work item: reads its segments in order (archive objects, then the live tail),
 * keeps records within the bounds that pass the filter, and puts them into the target in
 * their original order per key. Saves its resume point after every flush; a completed item
 * leaves a marker that makes a re-run of the same replay skip it.
 */
/** How often a waiting paced item looks for a stop marker. */
const STOP_CHECK_MS = 2_000;

export class ReplayWorker {
  constructor(
    private readonly settings: ReplayWorkerSettings,
    private readonly deps: ReplayWorkerDeps,
  ) {}

  async run(
    replay: ResolvedReplay,
    item: ReplayWorkItem,
    deadline: number,
    parquet?: ParquetRecordSource,
  ): Promise<ReplayItemResult> {
    const files = replayRunFiles(this.settings.prefix, replay.replayId);
    const stored = await this.deps.store.getJson<ReplayProgress>(files.progress(item.itemId));
    const progress: ReplayProgress = stored?.value ?? {
      itemId: item.itemId,
      done: false,
      cursor: { segment: 0, lines: 0, afterSequenceNumber: null },
      counts: { read: 0, matched: 0, put: 0, throttledRetries: 0 },
      updatedAt: new Date(this.deps.now()).toISOString(),
    };
    const before = { ...progress.counts };
    const result = (done: boolean): ReplayItemResult => ({
      itemId: item.itemId,
      done,
      ...progress.counts,
      invocation: {
        put: progress.counts.put - before.put,
        throttledRetries: progress.counts.throttledRetries - before.throttledRetries,
      },
    });
    if (progress.done) return result(true);

    const deps = parquet ? { ...this.deps, parquet } : this.deps;
    const pace = replay.pace
      ? new PaceGate(await paceScheduleOf(this.deps.store, files, replay.pace, this.deps.now()))
      : null;
    const stop = {
      key: files.stopped,
      run: (await this.deps.store.getJson<ReplayStopMarker>(files.stopped))?.value.run ?? 0,
    };
    const run = new ItemRun(this.settings, deps, replay, progress, files.progress(item.itemId), pace, stop);
    return result(await run.execute(item.segments, deadline));
  }
}

class ItemRun {
  private readonly matches: ((event: FilterEvent) => boolean) | null;
  private readonly putter: RecordPutter;
  /** The target's maximum record size, data plus partition key. */
  private readonly maxRecordBytes: number;
  private pending: PutEntry[] = [];
  private pendingBytes = 0;
  private pendingCursor: ReplayProgress['cursor'];
  private pendingLastArrival: number | undefined;

  constructor(
    private readonly settings: ReplayWorkerSettings,
    private readonly deps: ReplayWorkerDeps,
    private readonly replay: ResolvedReplay,
    private readonly progress: ReplayProgress,
    private readonly progressKey: string,
    /** Present for a paced replay: holds each record back until it is due. */
    private readonly pace: PaceGate | null,
    /**
     * The replay's stop marker (`reservoir replay --stop`), looked for at every flush and while
     * waiting, and the run of the replay this item belongs to.
     */
    private readonly stop: { key: string; run: number },
  ) {
    this.matches = replay.filter ? compileFilter(replay.filter) : null;
    this.maxRecordBytes = replay.targetMaxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.putter = new RecordPutter(
      deps.writer,
      replay.target,
      { ...settings, maxRecordBytes: this.maxRecordBytes },
      deps,
    );
    this.pendingCursor = { ...progress.cursor };
    this.pendingLastArrival = progress.lastArrival;
  }

  /** True when every segment is replayed; false when the deadline stopped it (call again). */
  async execute(segments: ReplaySegment[], deadline: number): Promise<boolean> {
    for (let index = this.progress.cursor.segment; index < segments.length; index++) {
      const segment = segments[index]!;
      const finished =
        segment.type === 'archive'
          ? await this.replayObject(index, segment.key, deadline)
          : segment.type === 'parquet'
            ? await this.replayParquet(index, segment, deadline)
            : await this.replayLive(index, segment, deadline);
      if (!finished) {
        await this.flush();
        return false;
      }
      this.pendingCursor = { segment: index + 1, lines: 0, afterSequenceNumber: null };
      await this.flush();
    }
    this.progress.done = true;
    await this.saveProgress();
    return true;
  }

  private async replayObject(index: number, key: string, deadline: number): Promise<boolean> {
    const lines = await readArchiveObject(this.deps.store, key);
    for (
      let i = index === this.progress.cursor.segment ? this.progress.cursor.lines : 0;
      i < lines.length;
      i++
    ) {
      if (!(await this.consider(lines[i]!, deadline))) return false;
      this.pendingCursor = { segment: index, lines: i + 1, afterSequenceNumber: null };
      if (this.pendingFull()) await this.flush();
      if (this.deps.now() >= deadline) return false;
    }
    return true;
  }

  /** One shard's rows of a Parquet file; `lines` of the cursor counts that shard's rows in file order. */
  private async replayParquet(
    index: number,
    segment: Extract<ReplaySegment, { type: 'parquet' }>,
    deadline: number,
  ): Promise<boolean> {
    if (!this.deps.parquet)
      throw new Error(`Replay segment ${segment.key} is Parquet: this worker has no Parquet reader`);
    let consumed = index === this.progress.cursor.segment ? this.progress.cursor.lines : 0;
    for await (const lines of this.deps.parquet.read(segment.key, {
      shardId: segment.shardId,
      offset: consumed,
    })) {
      for (const line of lines) {
        if (!(await this.consider(line, deadline))) return false;
        consumed += 1;
        this.pendingCursor = { segment: index, lines: consumed, afterSequenceNumber: null };
        if (this.pendingFull()) await this.flush();
        if (this.deps.now() >= deadline) return false;
      }
    }
    return true;
  }

  private async replayLive(
    index: number,
    segment: Extract<ReplaySegment, { type: 'live' }>,
    deadline: number,
  ): Promise<boolean> {
    const resumeAfter =
      index === this.progress.cursor.segment ? this.progress.cursor.afterSequenceNumber : null;
    const after = resumeAfter ?? segment.afterSequenceNumber;
    const read = readShard(this.deps, this.settings, {
      stream: this.replay.stream,
      shardId: segment.shardId,
      start: after ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after } : { type: 'TRIM_HORIZON' },
      mode: { type: 'polling', rate: this.replay.readRate ?? this.settings.defaultRate },
      // The live tail ends where the replay started: later records are live traffic.
      untilMs: this.replay.startedAt,
      deadline,
      stopAtTip: true,
    });
    for await (const batch of read) {
      for (const record of batch.records) {
        for (const user of read.userRecords(record)) {
          if (!(await this.consider(toRecordLine(user), deadline))) return false;
        }
        this.pendingCursor = { segment: index, lines: 0, afterSequenceNumber: record.sequenceNumber };
        if (this.pendingFull()) await this.flush();
      }
    }
    return read.end !== 'deadline';
  }

  /**
   * Reads one record and, when it is in bounds and passes the filter, queues it for putting.
   * False (the record not consumed) when a paced replay's record is due after the deadline.
   */
  private async consider(line: RecordLine, deadline: number): Promise<boolean> {
    const wanted =
      line.arrivalTimestamp >= this.replay.fromMs &&
      line.arrivalTimestamp < this.replay.toMs &&
      (!this.matches || this.matches(compactionFilterEvent(line)));
    if (wanted && this.pace && !(await this.awaitDue(this.pace, line.arrivalTimestamp, deadline)))
      return false;
    this.progress.counts.read += 1;
    if (!wanted) return true;
    this.progress.counts.matched += 1;
    const data =
      this.replay.format === 'raw'
        ? decodePayload(line.data, line.encoding)
        : encodeEnvelope(line, this.replay.replayId, this.replay.annotations);
    const bytes = recordBytes({ partitionKey: line.partitionKey, data });
    if (bytes > this.maxRecordBytes) await this.failTooLarge(line, bytes);
    this.pendingBytes += bytes;
    this.pendingLastArrival = line.arrivalTimestamp;
    this.pending.push({
      partitionKey: line.partitionKey,
      data,
      source: {
        shardId: line.shardId,
        sequenceNumber: line.sequenceNumber,
        subSequenceNumber: line.subSequenceNumber,
      },
    });
    return true;
  }

  /**
   * Holds a paced record back until its due time: what is pending (due already) is put first, so
   * records reach the target on schedule. Gated before the putter, which still adapts its rate to
   * throttling. False when the record is due after the deadline: the item returns and continues.
   */
  private async awaitDue(pace: PaceGate, arrival: number, deadline: number): Promise<boolean> {
    for (;;) {
      const now = this.deps.now();
      const due = pace.due(arrival, now);
      const decision = paceDecision(due, now, deadline);
      if (decision.action === 'put') {
        pace.take(Math.max(due, now));
        return true;
      }
      if (this.pending.length > 0) {
        // Before a long wait, what was put is saved too (a crash during it does not put it again);
        // short waits, up to ten a second, do not each write the progress file.
        if (decision.ms >= STOP_CHECK_MS) await this.flush();
        else await this.putPending();
        continue;
      }
      // Long waits in steps, so that a stop is seen while waiting.
      await this.deps.sleep(Math.min(decision.ms, STOP_CHECK_MS));
      // A stop while waiting: save the resume point (flush), which then ends the item.
      if (await this.stopState()) await this.flush();
      if (decision.action === 'yield' && decision.ms <= STOP_CHECK_MS) return false;
    }
  }

  /**
   * Fails the item at a record larger than the target takes, naming it: what came before it is
   * put first, so the resume point is this record (a run after the target's limit is raised goes
   * on from it).
   */
  private async failTooLarge(line: RecordLine, bytes: number): Promise<never> {
    // Counted again when the item resumes at this record.
    this.progress.counts.read -= 1;
    this.progress.counts.matched -= 1;
    await this.flush();
    throw recordTooLarge(
      line,
      { bytes, format: this.replay.format, payloadBytes: decodePayload(line.data, line.encoding).byteLength },
      { stream: this.replay.target, maxRecordBytes: this.maxRecordBytes },
    );
  }

  /**
   * Time to put what is pending: flushRecords records, or PENDING_MAX_BYTES of them (a worker
   * holds a bounded number of 10 MiB records, whatever flushRecords says).
   */
  private pendingFull(): boolean {
    return this.pending.length >= this.settings.flushRecords || this.pendingBytes >= PENDING_MAX_BYTES;
  }

  /** Puts everything pending, then moves the resume point past it. */
  private async flush(): Promise<void> {
    await this.putPending();
    const stop = await this.stopState();
    // A later run of the replay owns the progress now: end without saving over it.
    if (stop?.superseded)
      throw new ReplayStoppedError(`replay ${this.replay.replayId} stopped: ${stop.cause}`);
    this.progress.cursor = { ...this.pendingCursor };
    if (this.pendingLastArrival !== undefined) this.progress.lastArrival = this.pendingLastArrival;
    await this.saveProgress();
    // A stopped replay's item ends here, its resume point saved (a later run resumes it).
    if (stop) throw new ReplayStoppedError(`replay ${this.replay.replayId} stopped: ${stop.cause}`);
  }

  /** Stopped (`--stop`), or superseded by a later run of the same replay id; null: go on. */
  private async stopState(): Promise<{ cause: string; superseded: boolean } | null> {
    const marker = (await this.deps.store.getJson<ReplayStopMarker>(this.stop.key))?.value;
    if ((marker?.run ?? 0) !== this.stop.run)
      return { cause: `run ${marker?.run ?? 0} of this replay id took over`, superseded: true };
    return marker?.cause ? { cause: marker.cause, superseded: false } : null;
  }

  /** Puts everything pending; the resume point moves at the next flush. */
  private async putPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const stats = await this.putter.putAll(this.pending);
    this.progress.counts.put += stats.put;
    this.progress.counts.throttledRetries += stats.throttledRetries;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async saveProgress(): Promise<void> {
    this.progress.updatedAt = new Date(this.deps.now()).toISOString();
    await this.deps.store.putJson(this.progressKey, this.progress);
  }
}

export function assertItem(item: ReplayWorkItem | null, key: string): ReplayWorkItem {
  if (!item) throw new CorruptStateError(`Replay work item ${key} is missing`);
  return item;
}
