import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { readArchiveObject } from '../../src/archive/archive-reader';
import { cleanupCompaction } from '../../src/compaction/cleanup';
import { mergePartition, type MergeResult, type MergeSettings } from '../../src/compaction/merge-worker';
import { partitionChunk, type PartitionSettings } from '../../src/compaction/partition-worker';
import { planCompactionRun, requireCompactionSpec } from '../../src/compaction/plan';
import {
  compactionFiles,
  planCompaction,
  type CompactionPlanOptions,
  type CompactionPlanRequest,
  type CompactionSpec,
} from '../../src/core/compaction-spec';
import { parseEntry, partitionOf } from '../../src/core/compaction-entry';
import { createCompactionComparator } from '../../src/core/compaction-order';
import { createPositionComparator } from '../../src/consumer/position';
import { CorruptStateError, ValidationError } from '../../src/core/errors';
import { compileFilter, type FilterEvent, type FilterPattern } from '../../src/core/filter-pattern';
import { archiveObjectKey } from '../../src/core/layout';
import type { IteratorStart, KinesisRecord, RecordBatch, ShardReader } from '../../src/core/ports';
import {
  fromRecordLine,
  parseRecordLines,
  serializeRecordLine,
  toRecordLine,
  type RecordLine,
  type UserRecord,
} from '../../src/core/record-line';
import { kplAggregate } from '../../src/local/traffic';
import { instantBudget, MemoryObjectStore, MemoryShard } from '../support/fakes';

const PREFIX = 'res/';
const STREAM = 'orders';
const HOUR0 = Date.UTC(2024, 10, 21, 9, 0, 0);
const shard = (n: number) => `shardId-${String(n).padStart(12, '0')}`;

// ---------------------------------------------------------------------------------------------------------------
// Helpers: an archive in memory, a multi-shard stream, the naive oracle, running a whole compaction.

function user(
  shardId: string,
  sequenceNumber: string | bigint | number,
  partitionKey: string,
  arrivalTimestamp: number,
  data: string | Buffer,
  subSequenceNumber = 0,
): UserRecord {
  return {
    stream: STREAM,
    shardId,
    sequenceNumber: String(sequenceNumber),
    subSequenceNumber,
    partitionKey,
    arrivalTimestamp,
    data: typeof data === 'string' ? Buffer.from(data) : data,
  };
}

/** Writes records (one shard, in order) as one archive object, as the archiver would. */
async function putArchiveObject(store: MemoryObjectStore, records: UserRecord[]): Promise<string> {
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const key = archiveObjectKey(
    PREFIX,
    STREAM,
    first.shardId,
    first.arrivalTimestamp,
    first.sequenceNumber,
    last.sequenceNumber,
  );
  const body = records.map(serializeRecordLine).join('\n') + '\n';
  await store.putObject(key, gzipSync(body));
  return key;
}

/** A stream of several in-memory shards behind one ShardReader. */
class MemoryStream implements ShardReader {
  readonly shards = new Map<string, MemoryShard>();
  shardOf(shardId: string): MemoryShard {
    let found = this.shards.get(shardId);
    if (!found) this.shards.set(shardId, (found = new MemoryShard()));
    return found;
  }
  async getIterator(stream: string, shardId: string, start: IteratorStart): Promise<string> {
    return `${shardId}|${await this.shardOf(shardId).getIterator(stream, shardId, start)}`;
  }
  async getRecords(iterator: string, limit: number): Promise<RecordBatch> {
    const [shardId, inner] = iterator.split('|') as [string, string];
    const batch = await this.shardOf(shardId).getRecords(inner, limit);
    return {
      ...batch,
      nextIterator: batch.nextIterator === null ? null : `${shardId}|${batch.nextIterator}`,
    };
  }
}

function filterEventOf(line: RecordLine): FilterEvent {
  let data: unknown = line.data;
  if (line.encoding === 'utf8') {
    try {
      data = JSON.parse(line.data);
    } catch {
      /* text */
    }
  }
  return {
    partitionKey: line.partitionKey,
    sequenceNumber: line.sequenceNumber,
    approximateArrivalTimestamp: line.arrivalTimestamp / 1000,
    data,
  };
}

interface Semantics {
  fromMs: number;
  toMs: number;
  filter: FilterPattern[] | null;
  filterStage: 'before' | 'after';
  tombstone: FilterPattern[] | null;
  lineage: Record<string, string[]>;
}

/** Reads everything in memory and keeps the last record per key with the consumer library's comparator. */
function naiveLastPerKey(records: RecordLine[], semantics: Semantics) {
  const compare = createPositionComparator(new Map(Object.entries(semantics.lineage)));
  const filter = semantics.filter ? compileFilter(semantics.filter) : null;
  const tombstone = semantics.tombstone ? compileFilter(semantics.tombstone) : null;
  const best = new Map<string, RecordLine>();
  for (const line of records) {
    if (line.arrivalTimestamp < semantics.fromMs || line.arrivalTimestamp >= semantics.toMs) continue;
    if (semantics.filterStage === 'before' && filter && !filter(filterEventOf(line))) continue;
    const held = best.get(line.partitionKey);
    if (!held || compare(line, held) > 0) best.set(line.partitionKey, line);
  }
  let tombstoned = 0;
  let filteredOut = 0;
  const emitted: RecordLine[] = [];
  for (const line of best.values()) {
    const event = filterEventOf(line);
    if (tombstone?.(event)) tombstoned += 1;
    else if (semantics.filterStage === 'after' && filter && !filter(event)) filteredOut += 1;
    else emitted.push(line);
  }
  return { keys: best.size, tombstoned, filteredOut, emitted: sortByKey(emitted) };
}

const sortByKey = (lines: RecordLine[]) =>
  [...lines].sort((a, b) => (a.partitionKey < b.partitionKey ? -1 : a.partitionKey > b.partitionKey ? 1 : 0));

interface RunOptions {
  plan?: Partial<CompactionPlanOptions>;
  partition?: Partial<PartitionSettings>;
  merge?: Partial<MergeSettings>;
  reader?: ShardReader;
  reverseChunks?: boolean;
}

/** plan → partition every chunk → merge every partition → cleanup, with the spec round-tripped through JSON. */
async function compact(
  store: MemoryObjectStore,
  request: Omit<CompactionPlanRequest, 'prefix' | 'stream' | 'runId'>,
  options: RunOptions = {},
) {
  const planned = planCompaction(
    { runId: 'run-1', stream: STREAM, prefix: PREFIX, ...request },
    options.plan,
  );
  const spec = JSON.parse(JSON.stringify(planned)) as CompactionSpec;
  const deps = {
    store,
    live: options.reader
      ? { reader: options.reader, budget: instantBudget(), now: Date.now, sleep: async () => undefined }
      : undefined,
  };
  const order = spec.chunks.map((_, i) => i);
  if (options.reverseChunks) order.reverse();
  const partitioned = [];
  for (const chunk of order) partitioned.push(await partitionChunk(spec, chunk, deps, options.partition));
  const merged: MergeResult[] = [];
  for (let p = 0; p < spec.partitions; p++) merged.push(await mergePartition(spec, p, deps, options.merge));
  const shuffleBeforeCleanup = await store.listKeys(compactionFiles(PREFIX, spec.runId).shuffle);
  const summary = await cleanupCompaction(spec, deps);
  const texts: string[] = [];
  for (const key of summary.outputs) {
    texts.push(
      ...gunzipSync((await store.getObject(key))!)
        .toString('utf8')
        .split('\n')
        .filter(Boolean),
    );
  }
  const lines = texts.map((text) => parseRecordLines(text)[0]!);
  return {
    spec,
    partitioned,
    merged,
    summary,
    shuffleBeforeCleanup,
    texts,
    lines: sortByKey(lines),
    byOutput: texts,
  };
}

const json = (value: object) => JSON.stringify(value);

// ---------------------------------------------------------------------------------------------------------------

describe('compaction ordering', () => {
  it('given decimal sequence numbers of any length, then they compare as integers', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        fc.bigInt({ min: 0n, max: 2n ** 128n }),
        (a, b) => {
          const expected = a < b ? -1 : a > b ? 1 : 0;
          const compare = createCompactionComparator({});
          const position = (n: bigint) => ({
            shardId: 's',
            sequenceNumber: n.toString(),
            subSequenceNumber: 0,
          });
          expect(Math.sign(compare(position(a), position(b)))).toBe(expected);
          const padded = { shardId: 's', sequenceNumber: `000${a}`, subSequenceNumber: 0 };
          expect(Math.sign(compare(padded, position(b)))).toBe(expected);
        },
      ),
    );
  });

  it('given Kinesis-numbered shards with splits and merges, then it orders like the consumer library', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.nat(3)), {
          minLength: 2,
          maxLength: 30,
        }),
        (events, picks) => {
          let open = [0, 1];
          let next = 2;
          const lineage: Record<string, string[]> = {};
          for (const [a, b, split] of events) {
            if (split || open.length < 2) {
              const parent = open[a % open.length]!;
              lineage[shard(next)] = [shard(parent)];
              lineage[shard(next + 1)] = [shard(parent)];
              open = [...open.filter((s) => s !== parent), next, next + 1];
              next += 2;
            } else {
              const x = open[a % open.length]!;
              const rest = open.filter((s) => s !== x);
              const y = rest[b % rest.length]!;
              lineage[shard(next)] = [shard(x), shard(y)];
              open = [...rest.filter((s) => s !== y), next];
              next += 1;
            }
          }
          const ours = createCompactionComparator(lineage);
          const theirs = createPositionComparator(new Map(Object.entries(lineage)));
          const positions = picks.map(([s, , seq, sub]) => ({
            shardId: shard(s % next),
            sequenceNumber: seq.toString(),
            subSequenceNumber: sub,
          }));
          for (const a of positions)
            for (const b of positions) expect(Math.sign(ours(a, b))).toBe(Math.sign(theirs(a, b)));
        },
      ),
    );
  });

  it('given a lineage that contradicts the shard numbering, then the lineage wins', () => {
    const lineage = { [shard(1)]: [shard(5)] };
    const compare = createCompactionComparator(lineage);
    const parent = { shardId: shard(5), sequenceNumber: '900', subSequenceNumber: 0 };
    const child = { shardId: shard(1), sequenceNumber: '100', subSequenceNumber: 0 };
    expect(compare(child, parent)).toBeGreaterThan(0);
    expect(createPositionComparator(new Map(Object.entries(lineage)))(child, parent)).toBeGreaterThan(0);
  });

  it('hashes keys to partitions stably (FNV-1a over UTF-8)', () => {
    expect(partitionOf('', 2 ** 31)).toBe(0x811c9dc5 % 2 ** 31);
    expect(partitionOf('a', 1_000_000_007)).toBe(0xe40c292c % 1_000_000_007);
    const reference = (text: string) => {
      let hash = 0x811c9dc5;
      for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
      return hash >>> 0;
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        expect(partitionOf(key, n)).toBe(reference(key) % n);
      }),
    );
  });
});

describe('compaction planning', () => {
  const objects = Array.from({ length: 10 }, (_, i) => ({
    key: archiveObjectKey(
      PREFIX,
      STREAM,
      shard(i % 2),
      HOUR0 + (i % 3) * 3_600_000,
      `${100 + i}`,
      `${200 + i}`,
    ),
    bytes: 1000,
  }));

  it('chooses partitions from the estimated records and groups objects into chunks of at most chunkBytes; live tails alone', () => {
    const spec = planCompaction(
      {
        runId: 'r',
        stream: STREAM,
        prefix: PREFIX,
        archive: objects,
        live: [{ shardId: shard(1), afterSequenceNumber: '209', untilMs: HOUR0 + 9e6, estimatedRecords: 50 }],
        fromMs: HOUR0,
        toMs: HOUR0 + 3 * 3_600_000,
      },
      { recordsPerByte: 0.1, keysPerPartition: 300, chunkBytes: 3500 },
    );
    // 10 × 1000 bytes × 0.1 + 50 live = 1050 records → 4 partitions of ≤ 300.
    expect(spec.estimatedRecords).toBe(1050);
    expect(spec.partitions).toBe(4);
    expect(spec.chunks.map((c) => c.length)).toEqual([3, 3, 3, 1, 1]);
    expect(spec.inputs.find((i) => i.id === spec.chunks[4]![0])).toMatchObject({
      type: 'live',
      shardId: shard(1),
    });
    expect(spec.filterStage).toBe('before');
    expect(spec.outPrefix).toBe('res/runs/compact/r/out/');
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });

  it('leaves out objects whose hour lies outside the bounds, and refuses malformed patterns', () => {
    const spec = planCompaction(
      {
        runId: 'r',
        stream: STREAM,
        prefix: PREFIX,
        archive: objects,
        fromMs: HOUR0 + 3_600_000,
        toMs: HOUR0 + 7_200_000,
      },
      {},
    );
    expect(spec.inputs).toHaveLength(3);
    expect(spec.partitions).toBe(1);
    expect(() =>
      planCompaction({
        runId: 'r',
        stream: STREAM,
        prefix: PREFIX,
        archive: [],
        fromMs: 0,
        toMs: 1,
        filter: { data: 5 },
      }),
    ).toThrow(ValidationError);
    expect(() =>
      planCompaction({
        runId: 'r',
        stream: STREAM,
        prefix: PREFIX,
        archive: [],
        fromMs: 0,
        toMs: 1,
        tombstone: [],
      }),
    ).toThrow(ValidationError);
  });

  it('plans from the archive and its checkpoints, stores the spec, and returns the stored spec when planned again', async () => {
    const store = new MemoryObjectStore();
    await putArchiveObject(store, [user(shard(0), 10, 'a', HOUR0 + 5, '{}')]);
    await putArchiveObject(store, [user(shard(2), 5, 'a', HOUR0 + 9, '{}')]);
    await store.putJson(`${PREFIX}checkpoints/stream=${STREAM}/${shard(2)}.json`, {
      shardId: shard(2),
      parentShardIds: [shard(0)],
      drained: false,
      lastSequenceNumber: '5',
      pending: null,
      totals: { records: 1, objects: 1, bytes: 100 },
    });
    const request = { runId: 'p1', stream: STREAM, prefix: PREFIX, fromMs: HOUR0, toMs: HOUR0 + 3_600_000 };
    const spec = await planCompactionRun({ store }, request);
    expect(spec.inputs).toHaveLength(2);
    expect(spec.lineage).toEqual({ [shard(2)]: [shard(0)] });
    expect(await requireCompactionSpec(store, PREFIX, 'p1')).toEqual(spec);
    await putArchiveObject(store, [user(shard(2), 6, 'a', HOUR0 + 10, '{}')]);
    expect((await planCompactionRun({ store }, request)).inputs).toHaveLength(2);
  });
});

describe('compaction', () => {
  const bounds = { fromMs: HOUR0, toMs: HOUR0 + 3_600_000 };

  it('given a key whose newest record is in a child shard with a lower sequence number than its parents, then the child record wins (split and merge)', async () => {
    const store = new MemoryObjectStore();
    // shard 0 split into 2 and 3; shards 3 and 1 merged into 4. Children have much lower sequence numbers.
    await putArchiveObject(store, [
      user(shard(0), '900000000000000000000', 'k', HOUR0 + 1, json({ v: 'parent' })),
      user(shard(0), '900000000000000000001', 'm', HOUR0 + 2, json({ v: 'parent' })),
    ]);
    await putArchiveObject(store, [
      user(shard(1), '800000000000000000000', 'n', HOUR0 + 3, json({ v: 'parent' })),
    ]);
    await putArchiveObject(store, [user(shard(2), '5', 'k', HOUR0 + 4, json({ v: 'split child' }))]);
    await putArchiveObject(store, [user(shard(3), '7', 'm', HOUR0 + 5, json({ v: 'split child' }))]);
    await putArchiveObject(store, [
      user(shard(4), '1', 'm', HOUR0 + 6, json({ v: 'merge child' })),
      user(shard(4), '2', 'n', HOUR0 + 7, json({ v: 'merge child' })),
    ]);
    const lineage = { [shard(2)]: [shard(0)], [shard(3)]: [shard(0)], [shard(4)]: [shard(3), shard(1)] };
    const archive = await store.listObjects(PREFIX);
    const { lines, summary } = await compact(
      store,
      { archive, lineage, ...bounds },
      { plan: { partitions: 2 } },
    );
    expect(lines.map((l) => [l.partitionKey, l.shardId, JSON.parse(l.data).v])).toEqual([
      ['k', shard(2), 'split child'],
      ['m', shard(4), 'merge child'],
      ['n', shard(4), 'merge child'],
    ]);
    expect(summary).toMatchObject({ keys: 3, records: 3, tombstoned: 0 });
  });

  it('given tombstones, then a key whose newest record is a tombstone is deleted, and a key written again after one is kept', async () => {
    const store = new MemoryObjectStore();
    await putArchiveObject(store, [
      user(shard(0), 1, 'a', HOUR0 + 1, json({ v: 1 })),
      user(shard(0), 2, 'a', HOUR0 + 2, json({ deleted: true })),
      user(shard(0), 3, 'b', HOUR0 + 3, json({ deleted: true })),
      user(shard(0), 4, 'b', HOUR0 + 4, json({ v: 2 })),
      user(shard(0), 5, 'c', HOUR0 + 5, json({ v: 3 })),
    ]);
    const { lines, summary, merged } = await compact(store, {
      archive: await store.listObjects(PREFIX),
      tombstone: { data: { deleted: [true] } },
      ...bounds,
    });
    expect(lines.map((l) => [l.partitionKey, l.data])).toEqual([
      ['b', json({ v: 2 })],
      ['c', json({ v: 3 })],
    ]);
    expect(summary).toMatchObject({ keys: 3, records: 2, tombstoned: 1, filteredOut: 0 });
    expect(merged[0]).toMatchObject({ tombstoned: 1 });
  });

  it('given filter stage before, then the newest matching record wins; given after, then the newest record is emitted only if it matches', async () => {
    const store = new MemoryObjectStore();
    await putArchiveObject(store, [
      user(shard(0), 1, 'x-then-y', HOUR0 + 1, json({ status: 'X', n: 1 })),
      user(shard(0), 2, 'x-then-y', HOUR0 + 2, json({ status: 'Y', n: 2 })),
      user(shard(0), 3, 'y-then-x', HOUR0 + 3, json({ status: 'Y', n: 3 })),
      user(shard(0), 4, 'y-then-x', HOUR0 + 4, json({ status: 'X', n: 4 })),
      user(shard(0), 5, 'only-y', HOUR0 + 5, json({ status: 'Y', n: 5 })),
    ]);
    const archive = await store.listObjects(PREFIX);
    const filter = { data: { status: ['X'] } };
    const before = await compact(store, { archive, filter, ...bounds });
    expect(before.lines.map((l) => [l.partitionKey, JSON.parse(l.data).n])).toEqual([
      ['x-then-y', 1],
      ['y-then-x', 4],
    ]);
    expect(before.summary).toMatchObject({ keys: 2, records: 2, filteredOut: 0 });

    const store2 = new MemoryObjectStore();
    for (const [key, value] of store.objects) if (key.includes('/archive/')) store2.objects.set(key, value);
    const after = await compact(store2, { archive, filter, filterStage: 'after', ...bounds });
    expect(after.lines.map((l) => [l.partitionKey, JSON.parse(l.data).n])).toEqual([['y-then-x', 4]]);
    expect(after.summary).toMatchObject({ keys: 3, records: 1, filteredOut: 2 });
  });

  it('given payloads above the inline bound, then the shuffle carries references and the merge reads each referenced object once, byte-exact', async () => {
    const store = new MemoryObjectStore();
    const big = (n: number) => 'x'.repeat(600) + n;
    const binary = Buffer.from([0xff, 0x00, 0xc3, 0x28, ...Buffer.from('z'.repeat(700))]);
    await putArchiveObject(store, [
      user(shard(0), 1, 'a', HOUR0 + 1, big(1)),
      user(shard(0), 2, 'b', HOUR0 + 2, binary),
      user(shard(0), 3, 'c', HOUR0 + 3, 'small'),
    ]);
    await putArchiveObject(store, [
      user(shard(0), 4, 'a', HOUR0 + 4, big(4)),
      user(shard(0), 5, 'd', HOUR0 + 5, big(5)),
    ]);
    const archive = await store.listObjects(PREFIX);
    const result = await compact(store, { archive, ...bounds }, { plan: { partitions: 1 } });
    expect(result.partitioned.reduce((sum, r) => sum + r.references, 0)).toBe(3); // b, a@4, d (a@1 pre-reduced away)
    expect(result.merged[0]).toMatchObject({ objectsRead: 2, records: 4 });
    const byKey = new Map(result.lines.map((l) => [l.partitionKey, fromRecordLine(l)]));
    expect(byKey.get('a')!.data.toString()).toBe(big(4));
    expect(Buffer.from(byKey.get('b')!.data).equals(binary)).toBe(true);
    expect(result.lines.find((l) => l.partitionKey === 'b')!.encoding).toBe('base64');
    // Lines are exactly the archive's record line format, sorted by position.
    expect(result.texts).toEqual(
      [...result.lines]
        .sort((x, y) => Number(x.sequenceNumber) - Number(y.sequenceNumber))
        .map((l) => serializeRecordLine(fromRecordLine(l))),
    );

    const inline = new MemoryObjectStore();
    for (const [key, value] of store.objects) if (key.includes('/archive/')) inline.objects.set(key, value);
    const allInline = await compact(
      inline,
      { archive, ...bounds },
      { plan: { partitions: 1 }, partition: { inlineBytes: 10_000 } },
    );
    expect(allInline.merged[0]!.objectsRead).toBe(0);
    expect(allInline.texts).toEqual(result.texts);
  });

  it('given a tiny buffer bound, then many shuffle objects are written and the result is unchanged', async () => {
    const records: UserRecord[] = [];
    for (let i = 0; i < 300; i++)
      records.push(
        user(shard(0), 1000 + i, `key-${i % 37}`, HOUR0 + i, json({ i, pad: 'p'.repeat(i % 700) })),
      );
    const make = async () => {
      const store = new MemoryObjectStore();
      for (let i = 0; i < records.length; i += 50) await putArchiveObject(store, records.slice(i, i + 50));
      return store;
    };
    const store = await make();
    const archive = await store.listObjects(PREFIX);
    const roomy = await compact(store, { archive, ...bounds }, { plan: { partitions: 3, chunkBytes: 1 } });
    const tight = await compact(
      await make(),
      { archive, ...bounds },
      {
        plan: { partitions: 3, chunkBytes: 1 },
        partition: { bufferBytes: 1, preReduce: false },
        merge: { outputBytes: 200 },
      },
    );
    expect(roomy.spec.chunks).toHaveLength(6);
    expect(roomy.shuffleBeforeCleanup.length).toBeLessThanOrEqual(18);
    expect(tight.shuffleBeforeCleanup.length).toBe(300);
    expect(tight.summary.outputs.length).toBeGreaterThan(3);
    expect(tight.lines).toEqual(roomy.lines);
    expect(tight.lines).toHaveLength(37);
    const newest = new Map<string, number>();
    for (let i = 0; i < 300; i++) newest.set(`key-${i % 37}`, i);
    expect(tight.lines.map((l) => [l.partitionKey, JSON.parse(l.data).i])).toEqual(
      [...newest].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });

  it('given a live tail, then it is read after the archived sequence number up to untilMs, de-aggregated, and always inline', async () => {
    const store = new MemoryObjectStore();
    const stream = new MemoryStream();
    const live = stream.shardOf(shard(0));
    const archived: KinesisRecord[] = [
      {
        sequenceNumber: '100',
        partitionKey: 'a',
        arrivalTimestamp: HOUR0 + 1,
        data: Buffer.from('a-archived'),
      },
      {
        sequenceNumber: '200',
        partitionKey: 'b',
        arrivalTimestamp: HOUR0 + 2,
        data: Buffer.from('b-archived'),
      },
    ];
    await putArchiveObject(
      store,
      archived.map((r) =>
        user(shard(0), r.sequenceNumber, r.partitionKey, r.arrivalTimestamp, Buffer.from(r.data)),
      ),
    );
    const [aggregate] = kplAggregate([
      { partitionKey: 'a', data: Buffer.from('a-live-' + 'x'.repeat(900)) },
      { partitionKey: 'c', data: Buffer.from('c-live') },
    ]);
    live.records = [
      ...archived,
      {
        sequenceNumber: '300',
        partitionKey: aggregate!.partitionKey,
        arrivalTimestamp: HOUR0 + 3,
        data: aggregate!.data,
      },
      {
        sequenceNumber: '400',
        partitionKey: 'b',
        arrivalTimestamp: HOUR0 + 10,
        data: Buffer.from('b-too-late'),
      },
    ];
    live.faults = ['throttle', 'expired'];
    const result = await compact(
      store,
      {
        archive: await store.listObjects(PREFIX),
        live: [{ shardId: shard(0), afterSequenceNumber: '200', untilMs: HOUR0 + 10 }],
        ...bounds,
      },
      { reader: stream, plan: { partitions: 2 } },
    );
    expect(
      result.lines.map((l) => [
        l.partitionKey,
        l.sequenceNumber,
        l.subSequenceNumber,
        fromRecordLine(l).data.toString().slice(0, 10),
      ]),
    ).toEqual([
      ['a', '300', 0, 'a-live-xxx'],
      ['b', '200', 0, 'b-archived'],
      ['c', '300', 1, 'c-live'],
    ]);
    expect(result.partitioned[result.partitioned.length - 1]).toMatchObject({
      records: 2,
      matched: 2,
      references: 0,
    });
  });

  it('given records outside the bounds, then they do not compete', async () => {
    const store = new MemoryObjectStore();
    await putArchiveObject(store, [
      user(shard(0), 1, 'a', HOUR0 + 10, 'in'),
      user(shard(0), 2, 'a', HOUR0 + 20, 'after to'),
      user(shard(0), 3, 'b', HOUR0 + 5, 'before from'),
    ]);
    const { lines } = await compact(store, {
      archive: await store.listObjects(PREFIX),
      fromMs: HOUR0 + 10,
      toMs: HOUR0 + 20,
    });
    expect(lines.map((l) => [l.partitionKey, l.data])).toEqual([['a', 'in']]);
  });

  it('merges only after every chunk is partitioned, returns stored results on a retry, and cleanup removes the shuffle only after every partition merged', async () => {
    const store = new MemoryObjectStore();
    await putArchiveObject(store, [
      user(shard(0), 1, 'a', HOUR0 + 1, 'one'),
      user(shard(0), 2, 'b', HOUR0 + 2, 'two'),
    ]);
    await putArchiveObject(store, [user(shard(1), 3, 'c', HOUR0 + 3, 'three')]);
    const spec = planCompaction(
      { runId: 'steps', stream: STREAM, prefix: PREFIX, archive: await store.listObjects(PREFIX), ...bounds },
      { partitions: 2, chunkBytes: 1 },
    );
    const deps = { store };
    const files = compactionFiles(PREFIX, 'steps');
    await partitionChunk(spec, 0, deps);
    await expect(mergePartition(spec, 0, deps)).rejects.toThrow(CorruptStateError);
    const second = await partitionChunk(spec, 1, deps);
    const writes = store.writes;
    expect(await partitionChunk(spec, 1, deps)).toEqual(second);
    expect(store.writes).toBe(writes);

    const shuffle = await store.listKeys(files.shuffle);
    expect(shuffle.length).toBeGreaterThan(0);
    for (const key of shuffle) {
      expect(key).toMatch(/^res\/runs\/compact\/steps\/shuffle\/p=0000[01]\/c=0000[01]-0000\.jsonl\.gz$/);
      const entries = gunzipSync((await store.getObject(key))!)
        .toString()
        .split('\n')
        .filter(Boolean)
        .map(parseEntry);
      for (const entry of entries) expect(partitionOf(entry.key, 2)).toBe(Number(key.match(/p=(\d+)/)![1]));
    }

    await mergePartition(spec, 0, deps);
    await expect(cleanupCompaction(spec, deps)).rejects.toThrow(/1 of 2 partitions are not merged/);
    expect(await store.listKeys(files.shuffle)).toEqual(shuffle);
    await mergePartition(spec, 1, deps);
    const summary = await cleanupCompaction(spec, deps);
    expect(summary).toMatchObject({ deleted: shuffle.length, keys: 3, records: 3, partitions: 2 });
    expect(await store.listKeys(files.shuffle)).toEqual([]);
    expect(await cleanupCompaction(spec, deps)).toEqual(summary);
    const lines = (await Promise.all(summary.outputs.map((key) => readArchiveObject(store, key)))).flat();
    expect(sortByKey(lines).map((l) => l.data)).toEqual(['one', 'two', 'three']);
    expect(summary.outputs.every((key) => key.startsWith('res/runs/compact/steps/out/part-'))).toBe(true);
  });

  it('given an archive object that changed since the partition phase, then the merge fails instead of writing the wrong record', async () => {
    const store = new MemoryObjectStore();
    const key = await putArchiveObject(store, [user(shard(0), 1, 'a', HOUR0 + 1, 'x'.repeat(600))]);
    const spec = planCompaction({
      runId: 'chg',
      stream: STREAM,
      prefix: PREFIX,
      archive: await store.listObjects(PREFIX),
      ...bounds,
    });
    await partitionChunk(spec, 0, { store });
    await store.putObject(
      key,
      gzipSync(serializeRecordLine(user(shard(0), 1, 'b', HOUR0 + 1, 'y'.repeat(600))) + '\n'),
    );
    await expect(mergePartition(spec, 0, { store })).rejects.toThrow(/not the record the shuffle names/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property: compaction = naive last-per-key, for random histories, chunkings, partitions and buffer bounds.

const payloadArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ v: fc.integer({ min: 0, max: 9 }), deleted: fc.nat(3).map((n) => n === 0), pad: fc.nat(700) })
      .map(({ v, deleted, pad }) => Buffer.from(json({ v, deleted, pad: 'p'.repeat(pad) }))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from([0xff, ...bytes])) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => Buffer.from(text)) },
);

const opArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      type: fc.constant('put' as const),
      key: fc.nat(),
      gapMs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 1_200_000 }),
      ),
      seqStep: fc.bigInt({ min: 1n, max: 10n ** 12n }),
      payloads: fc.array(payloadArb, { minLength: 1, maxLength: 3 }),
      // KPL aggregates hold several user records, sometimes of the same key.
      keyStride: fc.nat(1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('split' as const), a: fc.nat(), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('merge' as const), a: fc.nat(), b: fc.nat() }) },
);

const scenarioArb = fc.record({
  initialShards: fc.integer({ min: 1, max: 3 }),
  keys: fc.integer({ min: 1, max: 20 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 80, size: 'large' }),
  seqBases: fc.array(fc.bigInt({ min: 1n, max: 10n ** 40n }), { minLength: 16, maxLength: 16 }),
  cutEvery: fc.integer({ min: 1, max: 8 }),
  liveTail: fc.nat(4),
  untilCut: fc.integer({ min: 0, max: 1100 }),
  bounds: fc.option(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })), {
    freq: 2,
  }),
  filter: fc.oneof(
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant({ data: { v: [{ numeric: ['>=', 3] }] } }) },
    { weight: 1, arbitrary: fc.constant({ partitionKey: [{ 'anything-but': ['k1', 'k2'] }] }) },
  ),
  filterStage: fc.constantFrom('before' as const, 'after' as const),
  tombstone: fc.constantFrom(null, { data: { deleted: [true] } }),
  partitions: fc.integer({ min: 1, max: 6 }),
  chunkBytes: fc.integer({ min: 1, max: 3000 }),
  bufferBytes: fc.integer({ min: 1, max: 20_000 }),
  inlineBytes: fc.integer({ min: 0, max: 400 }),
  preReduce: fc.boolean(),
  outputBytes: fc.integer({ min: 1, max: 4000 }),
  reverseChunks: fc.boolean(),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Plays a history: puts into the shard of the first key (aggregates carry several keys), splits, merges. */
function playHistory(s: Scenario) {
  const keyName = (n: number) => `k${n % s.keys}`;
  let next = s.initialShards;
  let open = Array.from({ length: next }, (_, i) => i);
  const lineage: Record<string, string[]> = {};
  const seq = new Map<number, bigint>();
  const keyShard = new Map<string, number>();
  for (let k = 0; k < s.keys; k++) keyShard.set(keyName(k), k % s.initialShards);
  // Kinesis records per shard: [sequence number, user records].
  const byShard = new Map<number, { kinesis: KinesisRecord; users: UserRecord[] }[]>();
  let clock = HOUR0;
  for (const op of s.ops) {
    if (op.type === 'put') {
      clock += op.gapMs;
      const first = keyName(op.key);
      const target = keyShard.get(first)!;
      const sequenceNumber = ((seq.get(target) ?? s.seqBases[target % 16]!) + op.seqStep).toString();
      seq.set(target, BigInt(sequenceNumber));
      const users = op.payloads.map((data, i) =>
        user(
          shard(target),
          sequenceNumber,
          keyName(op.key + i * op.keyStride),
          clock,
          data,
          op.payloads.length > 1 ? i : 0,
        ),
      );
      let data: Buffer = Buffer.from(users[0]!.data);
      if (users.length > 1) {
        const aggregates = kplAggregate(
          users.map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data) })),
        );
        if (aggregates.length !== 1) throw new Error('expected one KPL aggregate');
        data = aggregates[0]!.data;
      }
      const kinesis = { sequenceNumber, partitionKey: first, arrivalTimestamp: clock, data };
      byShard.set(target, [...(byShard.get(target) ?? []), { kinesis, users }]);
    } else if (op.type === 'split') {
      const parent = open[op.a % open.length]!;
      const children = [next, next + 1];
      next += 2;
      for (const child of children) lineage[shard(child)] = [shard(parent)];
      open = [...open.filter((x) => x !== parent), ...children];
      for (const [key, at] of keyShard)
        if (at === parent) keyShard.set(key, children[(Number(key.slice(1)) + op.pick) % 2]!);
    } else if (open.length >= 2) {
      const a = open[op.a % open.length]!;
      const rest = open.filter((x) => x !== a);
      const b = rest[op.b % rest.length]!;
      const child = next++;
      lineage[shard(child)] = [shard(a), shard(b)];
      open = [...rest.filter((x) => x !== b), child];
      for (const [key, at] of keyShard) if (at === a || at === b) keyShard.set(key, child);
    }
  }
  return { lineage, byShard, open, start: HOUR0, end: clock + 1 };
}

describe('compaction property', () => {
  it('given random histories across splits and merges, chunkings, partitions and buffer bounds, then the result is the naive last record per key', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { lineage, byShard, open, start, end } = playHistory(s);
        const store = new MemoryObjectStore();
        const stream = new MemoryStream();
        const untilMs = start + Math.floor(((end - start) * s.untilCut) / 1000);
        const everything: RecordLine[] = [];
        const live: { shardId: string; afterSequenceNumber: string | null; untilMs: number }[] = [];
        for (const [n, records] of byShard) {
          const liveCount = open.includes(n) ? Math.min(s.liveTail, records.length) : 0;
          const archived = records.slice(0, records.length - liveCount);
          const tail = records.slice(records.length - liveCount);
          // Objects: at most cutEvery Kinesis records, never straddling an hour.
          let block: UserRecord[] = [];
          let blockRecords = 0;
          const cut = async () => {
            if (block.length > 0) await putArchiveObject(store, block);
            block = [];
            blockRecords = 0;
          };
          for (const { kinesis, users } of archived) {
            if (
              blockRecords >= s.cutEvery ||
              (block.length > 0 &&
                Math.floor(block[0]!.arrivalTimestamp / 3_600_000) !==
                  Math.floor(kinesis.arrivalTimestamp / 3_600_000))
            )
              await cut();
            block.push(...users);
            blockRecords += 1;
            everything.push(...users.map(toRecordLine));
          }
          await cut();
          if (liveCount > 0) {
            const reader = stream.shardOf(shard(n));
            reader.records = records.map((r) => r.kinesis);
            reader.batchSize = 2;
            live.push({
              shardId: shard(n),
              afterSequenceNumber:
                archived.length > 0 ? archived[archived.length - 1]!.kinesis.sequenceNumber : null,
              untilMs,
            });
            for (const { kinesis, users } of tail)
              if (kinesis.arrivalTimestamp < untilMs) everything.push(...users.map(toRecordLine));
          }
        }
        const [x, y] = s.bounds ?? [0, 1010];
        const fromMs = start + Math.floor(((end - start) * Math.min(x, y)) / 1000);
        const toMs = Math.max(fromMs + 1, start + Math.ceil(((end - start) * Math.max(x, y)) / 1000));
        const semantics: Semantics = {
          fromMs,
          toMs,
          filter: s.filter ? [s.filter] : null,
          filterStage: s.filterStage,
          tombstone: s.tombstone ? [s.tombstone] : null,
          lineage,
        };
        const expected = naiveLastPerKey(everything, semantics);

        const result = await compact(
          store,
          { archive: await store.listObjects(PREFIX), live, ...semantics },
          {
            reader: stream,
            plan: { partitions: s.partitions, chunkBytes: s.chunkBytes },
            partition: { bufferBytes: s.bufferBytes, inlineBytes: s.inlineBytes, preReduce: s.preReduce },
            merge: { outputBytes: s.outputBytes },
            reverseChunks: s.reverseChunks,
          },
        );
        expect(result.lines).toEqual(expected.emitted);
        expect(result.summary).toMatchObject({
          keys: expected.keys,
          records: expected.emitted.length,
          tombstoned: expected.tombstoned,
          filteredOut: expected.filteredOut,
        });
        // Exactly the archive's line format; each partition's output sorted by position.
        expect(result.texts).toEqual(
          result.texts.map((t) => serializeRecordLine(fromRecordLine(parseRecordLines(t)[0]!))),
        );
        const compare = createCompactionComparator(lineage);
        for (const merged of result.merged) {
          const lines = (
            await Promise.all(merged.outputs.map((key) => readArchiveObject(store, key)))
          ).flat();
          for (let i = 1; i < lines.length; i++) expect(compare(lines[i - 1]!, lines[i]!)).toBeLessThan(0);
        }
        expect(await store.listKeys(compactionFiles(PREFIX, 'run-1').shuffle)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
