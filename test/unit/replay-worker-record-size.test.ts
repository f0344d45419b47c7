import { gzipSync } from 'node:zlib';
import { RecordTooLargeError } from '../../src/core/errors';
import type { PutResult, RecordWriter } from '../../src/core/ports';
import { serializeRecordLine } from '../../src/core/record-line';
import type { ReplayWorkItem } from '../../src/core/replay-plan';
import type { ResolvedReplay } from '../../src/core/replay-request';
import { PENDING_MAX_BYTES, ReplayWorker, type ReplayProgress } from '../../src/replay/replay-worker';
import { replayRunFiles } from '../../src/replay/run-files';
import { instantBudget, MemoryObjectStore, MemoryShard } from '../support/fakes';

const MIB = 1024 * 1024;
const KEY = 'archive/stream=src/dt=2026-12-01/hr=10/shardId-000000000000/1-9.jsonl.gz';

/** A target that keeps what it was given, batch by batch. */
class KeepingWriter implements RecordWriter {
  readonly batches: { partitionKey: string; bytes: number }[][] = [];
  async putRecords(
    _stream: string,
    entries: { partitionKey: string; data: Uint8Array }[],
  ): Promise<PutResult[]> {
    this.batches.push(
      entries.map((entry) => ({ partitionKey: entry.partitionKey, bytes: entry.data.byteLength })),
    );
    return entries.map(() => ({ ok: true }));
  }
  async assertStreamExists(): Promise<void> {}
}

function givenArchive(store: MemoryObjectStore, sizes: number[]): void {
  const lines = sizes.map((size, i) =>
    serializeRecordLine({
      stream: 'src',
      shardId: 'shardId-000000000000',
      sequenceNumber: String(i + 1),
      subSequenceNumber: 0,
      partitionKey: `key-${i + 1}`,
      arrivalTimestamp: Date.UTC(2026, 11, 1, 10, 0, i),
      data: Buffer.alloc(size, 0x61),
    }),
  );
  void store.putObject(KEY, gzipSync(lines.join('\n') + '\n'));
}

const replay = (overrides: Partial<ResolvedReplay>): ResolvedReplay => ({
  replayId: 'replay-1',
  stream: 'src',
  target: 'dst',
  fromMs: 0,
  toMs: Date.UTC(2027, 0, 1),
  filter: null,
  annotations: {},
  format: 'raw',
  includeLive: false,
  compact: false,
  filterStage: 'before',
  startedAt: Date.UTC(2026, 11, 1, 12),
  ...overrides,
});

const item: ReplayWorkItem = {
  itemId: 'item-0',
  shardIds: ['shardId-000000000000'],
  segments: [{ type: 'archive', shardId: 'shardId-000000000000', key: KEY, bytes: 0 }],
  estimatedRecords: 0,
};

function worker(store: MemoryObjectStore, writer: RecordWriter): ReplayWorker {
  return new ReplayWorker(
    {
      prefix: '',
      flushRecords: 2_000,
      defaultRate: { callsPerSecond: 5, bytesPerSecond: 2 * MIB },
      maxAttempts: 3,
      baseDelayMs: 1,
      initialRatePerSecond: 1_000,
      getRecordsLimit: 10_000,
      throttleAttempts: 2,
      throttleBaseDelayMs: 1,
    },
    {
      store,
      writer,
      reader: new MemoryShard(),
      budget: instantBudget(),
      now: Date.now,
      sleep: async () => undefined,
    },
  );
}

describe('replay worker and record sizes', () => {
  it('given 8 MiB records, when replayed into a 10 MiB target, then they are put as they come, a bounded number at a time', async () => {
    const store = new MemoryObjectStore();
    givenArchive(store, [10, 8 * MIB, 8 * MIB, 20, 8 * MIB, 8 * MIB, 8 * MIB, 30]);
    const writer = new KeepingWriter();
    const saved: number[] = [];
    const putJson = store.putJson.bind(store);
    store.putJson = async (key, value) => {
      const cursor = (value as Partial<ReplayProgress>).cursor;
      if (cursor && !(value as ReplayProgress).done) saved.push(cursor.segment * 1000 + cursor.lines);
      return putJson(key, value);
    };

    const result = await worker(store, writer).run(
      replay({ targetMaxRecordBytes: 10 * MIB }),
      item,
      Date.now() + 60_000,
    );

    expect(result).toMatchObject({ done: true, put: 8 });
    const puts = writer.batches.flat();
    // Keys of their own: a batch may take a later small record beside a large one.
    expect(puts.map((entry) => entry.partitionKey).sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `key-${i + 1}`),
    );
    expect(puts.filter((entry) => entry.bytes === 8 * MIB)).toHaveLength(5);
    // Put once PENDING_MAX_BYTES (32 MiB) were pending, at the 6th record: not at flushRecords (2,000).
    expect(PENDING_MAX_BYTES).toBe(32 * MIB);
    expect(saved).toEqual([6, 1000]);
  });

  it('given an envelope over the target limit, then the item fails naming the record, its size and the limit, after the records before it are put', async () => {
    const store = new MemoryObjectStore();
    givenArchive(store, [10, 20, 2 * MIB, 30]);
    const writer = new KeepingWriter();

    const error = await worker(store, writer)
      .run(replay({ format: 'envelope' }), item, Date.now() + 60_000)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RecordTooLargeError);
    const message = (error as Error).message;
    expect(message).toContain('stream src, shard shardId-000000000000, sequence number 3');
    expect(message).toMatch(
      /is \d+ bytes with its envelope, over the 1048576 bytes \(1024 KiB\) stream dst takes/,
    );
    expect(message).toContain("raise dst's maximum record size");
    expect(writer.batches.flat().map((entry) => entry.partitionKey)).toEqual(['key-1', 'key-2']);
    const progress = await store.getJson<ReplayProgress>(replayRunFiles('', 'replay-1').progress('item-0'));
    expect(progress?.value.cursor).toEqual({ segment: 0, lines: 2, afterSequenceNumber: null });
    expect(progress?.value.counts).toMatchObject({ read: 2, matched: 2, put: 2 });
  });
});
