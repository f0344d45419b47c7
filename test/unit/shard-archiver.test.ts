import { ARRIVAL_CLOCK_SLACK_MS } from '../../src/reading/shard-read';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ShardArchiver, type ShardArchiverSettings } from '../../src/archive/shard-archiver';
import { initialCheckpoint, type Checkpoint } from '../../src/core/checkpoint';
import { DataGapError, ThrottledError } from '../../src/core/errors';
import { checkpointKey, parseArchiveObjectKey } from '../../src/core/layout';
import { parseRecordLines } from '../../src/core/record-line';
import { instantBudget, kinesisRecord, MemoryObjectStore, MemoryShard, POLLING } from '../support/fakes';
import { verifyMemoryStore } from '../support/verify-memory';

const HOUR = 3_600_000;
const start = Date.UTC(2024, 10, 21, 9, 58, 0);

const settings: ShardArchiverSettings = {
  prefix: '',
  maxObjectBytes: 400,
  getRecordsLimit: 10_000,
  throttleAttempts: 3,
  throttleBaseDelayMs: 0,
  leaseMs: 20 * 60_000,
};

function archiverFor(
  shard: MemoryShard,
  store: MemoryObjectStore,
  overrides: Partial<ShardArchiverSettings> = {},
  now: () => number = Date.now,
) {
  const gaps: DataGapError[] = [];
  const archiver = new ShardArchiver(
    { ...settings, ...overrides },
    {
      reader: shard,
      store,
      compress: (body) => gzipSync(body),
      budget: instantBudget(now),
      now,
      sleep: async () => undefined,
      onGap: (gap) => gaps.push(gap),
    },
  );
  return { archiver, gaps };
}

const request = {
  stream: 's',
  shardId: 'shardId-000000000000',
  parentShardIds: [],
  closed: false,
  deadline: Number.MAX_SAFE_INTEGER,
  holder: 'run-1',
  read: POLLING,
};

/** Every line of every archive object: what a reader of the archive sees. */
function archivedLines(store: MemoryObjectStore) {
  return [...store.objects.keys()]
    .filter((key) => parseArchiveObjectKey(key))
    .flatMap((key) =>
      parseRecordLines(gunzipSync(store.objects.get(key)!.body).toString('utf8')).map((line) => ({
        key,
        line,
      })),
    );
}

function expectExactlyOnce(shard: MemoryShard, store: MemoryObjectStore) {
  const lines = archivedLines(store);
  const seen = lines.map(({ line }) => line.sequenceNumber);
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.sort()).toEqual(shard.records.map((r) => r.sequenceNumber).sort());
  for (const { key, line } of lines) {
    const ref = parseArchiveObjectKey(key)!;
    expect(new Date(line.arrivalTimestamp).toISOString().slice(11, 13)).toBe(ref.hr);
  }
}

function shardWith(count: number, spreadMs = 60_000): MemoryShard {
  const shard = new MemoryShard();
  for (let i = 0; i < count; i++)
    shard.records.push(
      kinesisRecord(`k${i % 5}`, `{"i":${i}}`, start + Math.floor((i * spreadMs) / count) * 4),
    );
  return shard;
}

describe('shard archiver', () => {
  it('given a shard crossing an hour, when archived, then every record is archived once, in its hour', async () => {
    const shard = shardWith(60);
    const store = new MemoryObjectStore();
    const result = await archiverFor(shard, store).archiver.archive(request);
    expect(result).toMatchObject({ status: 'caught-up', done: true, records: 60 });
    expectExactlyOnce(shard, store);
    const hours = new Set(archivedLines(store).map(({ key }) => parseArchiveObjectKey(key)!.hr));
    expect(hours).toEqual(new Set(['09', '10']));
  });

  it('given blocks written over several runs, then each object names the last sequence number of the one before (none for the first) and its line count', async () => {
    const shard = shardWith(30);
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store);
    await archiver.archive(request);
    shard.records.push(kinesisRecord('k', 'late', start + HOUR));
    await archiver.archive(request);
    const objects = [...store.objects.entries()]
      .map(([key, object]) => ({ ref: parseArchiveObjectKey(key), object }))
      .filter((o) => o.ref !== null)
      .sort((a, b) => Number(BigInt(a.ref!.firstSequenceNumber) - BigInt(b.ref!.firstSequenceNumber)));
    expect(objects.length).toBeGreaterThan(2);
    objects.forEach(({ object }, i) => {
      const lines = parseRecordLines(gunzipSync(object.body).toString('utf8'));
      expect(object.metadata).toEqual({
        'reservoir-previous': i === 0 ? 'none' : objects[i - 1]!.ref!.lastSequenceNumber,
        'reservoir-records': String(lines.length),
      });
    });
  });

  it('for any archive of a shard, deleting any one of its objects makes verify report the hour not full', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.nat(), async (count, pick) => {
        const shard = shardWith(count);
        const store = new MemoryObjectStore();
        await archiverFor(shard, store).archiver.archive(request);
        expect(verifyMemoryStore(store, 's').status).toBe('full');
        const keys = [...store.objects.keys()].filter((key) => parseArchiveObjectKey(key));
        const victim = keys[pick % keys.length]!;
        store.objects.delete(victim);
        const verified = verifyMemoryStore(store, 's');
        expect(['partial', 'missing']).toContain(verified.status);
        const hour = parseArchiveObjectKey(victim)!;
        expect(verified.hours.find((h) => h.dt === hour.dt && h.hr === hour.hr)?.status).not.toBe('full');
      }),
      { numRuns: 100 },
    );
  });

  it('given a second run after new records, then only the new records are added', async () => {
    const shard = shardWith(20);
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store);
    await archiver.archive(request);
    shard.records.push(kinesisRecord('k', 'late', start + HOUR));
    const second = await archiver.archive(request);
    expect(second).toMatchObject({ records: 1, objects: 1 });
    expectExactlyOnce(shard, store);
  });

  it('for any crash points, early stops and batch sizes, re-running until done archives every record exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
        async (count, batchSize, interruptions) => {
          const shard = shardWith(count);
          shard.batchSize = batchSize;
          const store = new MemoryObjectStore();
          const { archiver } = archiverFor(shard, store);
          for (const [crashAfter, stopAtOnce] of interruptions) {
            store.crashAfterWrites = store.writes + crashAfter;
            await archiver.archive(stopAtOnce ? { ...request, deadline: 0 } : request).catch(() => undefined);
          }
          store.crashAfterWrites = null;
          let result = await archiver.archive(request);
          while (!result.done) result = await archiver.archive(request);
          expectExactlyOnce(shard, store);
          const checkpoint = (await store.getJson<Checkpoint>(checkpointKey('', 's', request.shardId)))!
            .value;
          expect(checkpoint.totals.records).toBe(count);
          expect(checkpoint.pending).toBeNull();
          // reservoir verify proves it: every object chains to the one before, each read through.
          const verified = verifyMemoryStore(store, 's', { deep: true });
          expect(verified.hours.flatMap((h) => h.findings)).toEqual([]);
          expect(verified.joins).toEqual({ proven: checkpoint.totals.objects - 1, unproven: 0 });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('for any interleaving of three overlapping executions, none fails, the others report the shard held by the one archiving it, and every record is archived once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
        async (count, batchSizes, delays) => {
          const shard = shardWith(count);
          const store = new MemoryObjectStore();
          const runs = ['run-a', 'run-b', 'run-c'].map(async (holder, i) => {
            for (let tick = 0; tick < delays[i]!; tick++) await Promise.resolve();
            shard.batchSize = batchSizes[i]!;
            return archiverFor(shard, store).archiver.archive({ ...request, holder });
          });
          const results = await Promise.all(runs);
          for (const result of results) {
            expect(['caught-up', 'held']).toContain(result.status);
            if (result.status === 'held') {
              expect(['run-a', 'run-b', 'run-c']).toContain(result.heldBy);
              expect(result.records).toBe(0);
            }
          }
          expect(results.filter((r) => r.status === 'caught-up').length).toBeGreaterThan(0);
          // Every run released the shard: the next run archives whatever is left.
          await archiverFor(shard, store).archiver.archive({ ...request, holder: 'run-d' });
          expectExactlyOnce(shard, store);
          expect(verifyMemoryStore(store, 's', { deep: true }).status).toBe('full');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('given another execution holds a live lease, then the shard is reported held by it and nothing is read or written', async () => {
    const shard = shardWith(10);
    const store = new MemoryObjectStore();
    const key = checkpointKey('', 's', request.shardId);
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    await store.putJsonIfMatch(
      key,
      { ...initialCheckpoint('s', request.shardId, []), lease: { holder: 'archive-busy', expiresAt } },
      null,
    );
    const writes = store.writes;
    const result = await archiverFor(shard, store).archiver.archive(request);
    expect(result).toMatchObject({
      status: 'held',
      done: true,
      heldBy: 'archive-busy',
      heldUntil: expiresAt,
      records: 0,
    });
    expect(shard.getRecordsCalls).toBe(0);
    expect(store.writes).toBe(writes);
  });

  it('given another run took, archived and released the shard between this run reading the checkpoint and writing its lease, then this run reads what it left instead of failing', async () => {
    const shard = shardWith(10);
    const store = new (class extends MemoryObjectStore {
      private raced = false;
      override async putJsonIfMatch(
        key: string,
        value: unknown,
        etag: string | null,
        tags?: Readonly<Record<string, string>>,
      ): Promise<string> {
        if (!this.raced && (value as Checkpoint).lease?.holder === 'run-b') {
          this.raced = true;
          await archiverFor(shard, this).archiver.archive({ ...request, holder: 'run-a' });
        }
        return super.putJsonIfMatch(key, value, etag, tags);
      }
    })();
    const result = await archiverFor(shard, store).archiver.archive({ ...request, holder: 'run-b' });
    expect(result).toMatchObject({ status: 'caught-up', records: 0 });
    expectExactlyOnce(shard, store);
  });

  it('given the holder died and its lease expired, then the next run takes the shard over and archives every record once', async () => {
    const shard = shardWith(10);
    const store = new MemoryObjectStore();
    let clock = Date.now();
    // The dead run wrote its lease and a pending block, then stopped.
    await archiverFor(shard, store, {}, () => clock).archiver.archive({
      ...request,
      holder: 'archive-dead',
      deadline: 0,
    });
    clock += settings.leaseMs - 1;
    const early = await archiverFor(shard, store, {}, () => clock).archiver.archive(request);
    expect(early).toMatchObject({ status: 'held', heldBy: 'archive-dead' });
    clock += 2;
    const late = await archiverFor(shard, store, {}, () => clock).archiver.archive(request);
    expect(late.status).toBe('caught-up');
    expectExactlyOnce(shard, store);
    const checkpoint = (await store.getJson<Checkpoint>(checkpointKey('', 's', request.shardId)))!.value;
    expect(checkpoint.lease).toBeNull();
  });

  /** A reader that lets another run archive the shard in the middle of this run's reads. */
  function stallingShard(shard: MemoryShard, meanwhile: () => Promise<unknown>): MemoryShard {
    const stalled = new (class extends MemoryShard {
      private stalledOnce = false;
      override async getRecords(iterator: string, limit: number) {
        if (!this.stalledOnce && this.getRecordsCalls === 2) {
          this.stalledOnce = true;
          await meanwhile();
        }
        return super.getRecords(iterator, limit);
      }
    })();
    stalled.records = shard.records;
    stalled.batchSize = shard.batchSize;
    return stalled;
  }

  it('given a stalled holder whose expired lease another run took over, when it writes again, then it stops and reports the shard held by that run', async () => {
    const shard = shardWith(30);
    shard.batchSize = 5;
    const store = new MemoryObjectStore();
    let clock = Date.now();
    const taker = archiverFor(shard, store, { maxObjectBytes: 100 }, () => clock).archiver;
    const stalled = stallingShard(shard, () => {
      clock += settings.leaseMs + 1;
      // The taker is still at it: its budget ran out with records left, it holds the lease.
      return taker.archive({ ...request, holder: 'run-2', deadline: 0 });
    });
    const result = await archiverFor(stalled, store, {}, () => clock).archiver.archive(request);
    expect(result).toMatchObject({ status: 'held', heldBy: 'run-2' });
    let next = await taker.archive({ ...request, holder: 'run-2' });
    while (!next.done) next = await taker.archive({ ...request, holder: 'run-2' });
    expectExactlyOnce(shard, store);
  });

  it('given a stalled holder whose shard another run archived and released meanwhile, then it starts over from the new checkpoint and finishes the shard', async () => {
    const shard = shardWith(30);
    shard.batchSize = 5;
    const store = new MemoryObjectStore();
    let clock = Date.now();
    const stalled = stallingShard(shard, () => {
      clock += settings.leaseMs + 1;
      shard.records.push(kinesisRecord('k', 'while stalled', start + 1));
      return archiverFor(shard, store, {}, () => clock).archiver.archive({ ...request, holder: 'run-2' });
    });
    shard.records.push(kinesisRecord('k', 'after', start + 2));
    const result = await archiverFor(stalled, store, {}, () => clock).archiver.archive(request);
    expect(result.status).toBe('caught-up');
    expectExactlyOnce(shard, store);
  });

  it('given a run failed with a DataGapError, then it released the lease: the next run reports the gap, not a hold', async () => {
    const shard = shardWith(10);
    const store = new MemoryObjectStore();
    await archiverFor(shard, store).archiver.archive({ ...request, holder: 'first' });
    shard.records.push(kinesisRecord('k', 'lost', start + 1));
    shard.records.push(kinesisRecord('k', 'kept', start + 2));
    shard.trimmedBefore = shard.records.length - 1;
    await expect(
      archiverFor(shard, store).archiver.archive({ ...request, holder: 'second' }),
    ).rejects.toBeInstanceOf(DataGapError);
    await expect(
      archiverFor(shard, store).archiver.archive({ ...request, holder: 'third' }),
    ).rejects.toBeInstanceOf(DataGapError);
  });

  it('given a pending block whose object exists, when re-run, then the block is counted without rewriting it', async () => {
    const shard = shardWith(10, 1000);
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store, { maxObjectBytes: 10_000 });
    // writes: 1 = lease, 2 = intent, 3 = object; crash before the commit
    store.crashAfterWrites = 3;
    await expect(archiver.archive(request)).rejects.toThrow('simulated crash');
    store.crashAfterWrites = null;
    const result = await archiver.archive(request);
    expect(result).toMatchObject({ records: 10, objects: 1 });
    expectExactlyOnce(shard, store);
  });

  it('given a pending block whose object was never written, when the next run stops before rebuilding it, then the block stays pending', async () => {
    const shard = shardWith(10, 1000);
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store, { maxObjectBytes: 10_000 });
    store.crashAfterWrites = 2; // the lease and the intent are written, the object is not
    await expect(archiver.archive(request)).rejects.toThrow('simulated crash');
    store.crashAfterWrites = null;
    await expect(archiver.archive({ ...request, deadline: 0 })).resolves.toMatchObject({
      status: 'budget-exhausted',
      records: 0,
    });
    const checkpoint = (await store.getJson<Checkpoint>(checkpointKey('', 's', request.shardId)))!.value;
    expect(checkpoint.pending).not.toBeNull();
    expect(checkpoint.lastSequenceNumber).toBeNull();
    let result = await archiver.archive(request);
    while (!result.done) result = await archiver.archive(request);
    expectExactlyOnce(shard, store);
  });

  it('given a closed shard, then it is done only once its iterator returns null, and is marked drained', async () => {
    const shard = shardWith(5);
    shard.closed = true;
    const store = new MemoryObjectStore();
    const result = await archiverFor(shard, store).archiver.archive({ ...request, closed: true });
    expect(result).toMatchObject({ status: 'drained', done: true, records: 5 });
    const checkpoint = (await store.getJson<Checkpoint>(checkpointKey('', 's', request.shardId)))!.value;
    expect(checkpoint).toMatchObject({ shardState: 'closed', drained: true });
    expect((await archiverFor(shard, store).archiver.archive({ ...request, closed: true })).status).toBe(
      'drained',
    );
  });

  it('given a shard archived open, then closed and drained, then only its drained checkpoint carries the reservoir-drained tag', async () => {
    const shard = shardWith(5);
    const store = new MemoryObjectStore();
    const key = checkpointKey('', 's', request.shardId);
    await archiverFor(shard, store).archiver.archive(request);
    expect(store.objects.get(key)!.tags).toBeUndefined();

    shard.records.push(kinesisRecord('k', 'last', start + 1000));
    shard.closed = true;
    await archiverFor(shard, store).archiver.archive({ ...request, closed: true });

    expect(store.objects.get(key)!.tags).toEqual({ 'reservoir-drained': 'true' });
    expect((await store.getJson<Checkpoint>(key))!.value.drained).toBe(true);
  });

  it('given a child whose parent is not drained, then the child is not read', async () => {
    const shard = shardWith(5);
    const store = new MemoryObjectStore();
    const result = await archiverFor(shard, store).archiver.archive({
      ...request,
      parentShardIds: ['shardId-parent'],
    });
    expect(result).toMatchObject({ status: 'waiting-for-parent', waitingFor: 'shardId-parent', records: 0 });
    expect(shard.getRecordsCalls).toBe(0);
  });

  it('given the trim horizon passed the checkpoint, then a DataGapError names the range and nothing moves', async () => {
    const shard = shardWith(10);
    const store = new MemoryObjectStore();
    const { archiver, gaps } = archiverFor(shard, store);
    await archiver.archive(request);
    const lastArchived = shard.records[9]!.sequenceNumber;
    shard.records.push(kinesisRecord('k', 'expired', start), kinesisRecord('k', 'kept', start));
    shard.trimmedBefore = 11;
    const error = await archiver.archive(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataGapError);
    expect((error as DataGapError).message).toContain(`after sequence number ${lastArchived}`);
    expect((error as DataGapError).message).toContain(`and before ${shard.records[11]!.sequenceNumber}`);
    expect((error as DataGapError).name).toBe('DataGapError');
    expect(gaps).toHaveLength(1);
    const checkpoint = (await store.getJson<Checkpoint>(checkpointKey('', 's', request.shardId)))!.value;
    expect(checkpoint.lastSequenceNumber).toBe(lastArchived);
  });

  it('given a quiet shard whose last archived record expired, then there is no gap to report', async () => {
    const shard = shardWith(3);
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store);
    await archiver.archive(request);
    shard.trimmedBefore = 3;
    await expect(archiver.archive(request)).resolves.toMatchObject({ status: 'caught-up', records: 0 });
  });

  it('given throttles and an expired iterator, then reading backs off, renews the iterator and loses nothing', async () => {
    const shard = shardWith(12);
    shard.faults = ['throttle', 'expired', 'throttle'];
    const store = new MemoryObjectStore();
    await archiverFor(shard, store).archiver.archive(request);
    expectExactlyOnce(shard, store);
  });

  it('given persistent throttling, then what was read is written and a ThrottledError goes to the state machine', async () => {
    const shard = shardWith(12);
    shard.batchSize = 4;
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store);
    shard.faults = [];
    const reader = shard.getRecords.bind(shard);
    let calls = 0;
    shard.getRecords = async (iterator, limit) =>
      ++calls > 1 ? Promise.reject(new ThrottledError('Rate exceeded')) : reader(iterator, limit);
    await expect(archiver.archive(request)).rejects.toBeInstanceOf(ThrottledError);
    const checkpoint = (await store.getJson<Checkpoint>(checkpointKey('', 's', request.shardId)))!.value;
    expect(checkpoint.totals.records).toBe(4);
    shard.getRecords = reader;
    await archiver.archive(request);
    expectExactlyOnce(shard, store);
  });

  it('given the deadline has passed, then it stops, keeps what it read, and asks to be called again', async () => {
    const shard = shardWith(12);
    const store = new MemoryObjectStore();
    const { archiver } = archiverFor(shard, store);
    const result = await archiver.archive({ ...request, deadline: 0 });
    expect(result).toMatchObject({ status: 'budget-exhausted', done: false });
    let next = await archiver.archive(request);
    while (!next.done) next = await archiver.archive(request);
    expectExactlyOnce(shard, store);
  });

  it('given steady traffic, then an invocation is caught up at the records that arrived after it started, which the next run archives', async () => {
    const shard = shardWith(20);
    const store = new MemoryObjectStore();
    // The invocation starts when the first 12 records have arrived (allowing for a Kinesis clock
    // ahead of ours); 8 more keep coming.
    let now = shard.records[12]!.arrivalTimestamp - ARRIVAL_CLOCK_SLACK_MS;
    const { archiver } = archiverFor(shard, store, {}, () => now);
    const first = await archiver.archive(request);
    expect(first).toMatchObject({ status: 'caught-up', done: true, records: 12 });
    now = shard.records[19]!.arrivalTimestamp + 1;
    expect(await archiver.archive(request)).toMatchObject({ status: 'caught-up', records: 8 });
    expectExactlyOnce(shard, store);
  });
});

describe('shard archiver at the end of a closed shard', () => {
  it('given a closed shard whose last archived record aged out and nothing followed, then it is drained with no gap', async () => {
    const shard = shardWith(3);
    const store = new MemoryObjectStore();
    const { archiver, gaps } = archiverFor(shard, store);
    await archiver.archive(request);
    shard.closed = true;
    shard.trimmedBefore = 3;
    await expect(archiver.archive({ ...request, closed: true })).resolves.toMatchObject({
      status: 'drained',
    });
    expect(gaps).toHaveLength(0);
  });

  it('given a closed shard whose later records expired unarchived, then the gap is reported', async () => {
    const shard = shardWith(3);
    const store = new MemoryObjectStore();
    const { archiver, gaps } = archiverFor(shard, store);
    await archiver.archive(request);
    shard.records.push(kinesisRecord('k', 'lost', start), kinesisRecord('k', 'kept', start));
    shard.closed = true;
    shard.trimmedBefore = 4;
    await expect(archiver.archive({ ...request, closed: true })).rejects.toBeInstanceOf(DataGapError);
    expect(gaps).toHaveLength(1);
  });
});
