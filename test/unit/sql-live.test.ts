import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Checkpoint } from '../../src/core/checkpoint';
import { initialCheckpoint } from '../../src/core/checkpoint';
import { checkpointKey } from '../../src/core/layout';
import type { ShardDescription, StreamCatalog } from '../../src/core/ports';
import { parseRecordLines } from '../../src/core/record-line';
import { kplAggregate, telemetryRecord } from '../../src/local/traffic';
import { planLiveShards, readLiveShards, type LiveReadSettings } from '../../src/sql/live-reader';
import { instantBudget, MemoryObjectStore, MemoryShard, kinesisRecord, POLLING } from '../support/fakes';

const T0 = Date.parse('2026-01-01T10:00:00Z');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reservoir-sql-live-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const settings = (overrides: Partial<LiveReadSettings> = {}): LiveReadSettings => ({
  untilMs: Number.POSITIVE_INFINITY,
  bounds: {},
  getRecordsLimit: 10_000,
  throttleAttempts: 3,
  throttleBaseDelayMs: 1,
  concurrency: 4,
  ...overrides,
});

const deps = (shard: MemoryShard) => ({
  reader: shard,
  budget: instantBudget(),
  sleep: async () => undefined,
  now: Date.now,
});
const readRate = POLLING.rate;

describe('live reading for sql', () => {
  it('given records past the start, then they are read to the tip as record lines, KPL aggregates de-aggregated', async () => {
    const shard = new MemoryShard();
    const before = kinesisRecord('k', 'archived', T0);
    const users = [telemetryRecord(1), telemetryRecord(2), telemetryRecord(3)];
    const [aggregate] = kplAggregate(users);
    shard.records = [
      before,
      kinesisRecord('k', 'one', T0 + 1),
      { ...kinesisRecord(aggregate!.partitionKey, aggregate!.data, T0 + 2) },
      kinesisRecord('k', Buffer.from([0xff, 0x00]), T0 + 3),
    ];
    shard.faults = ['throttle', 'expired'];
    const [result] = await readLiveShards(
      deps(shard),
      [{ stream: 's', shardId: 'shardId-0', afterSequenceNumber: before.sequenceNumber, readRate }],
      dir,
      settings(),
    );
    const lines = parseRecordLines(readFileSync(result!.file, 'utf8'));
    expect(result).toMatchObject({ kinesisRecords: 3, records: 5 });
    expect(lines.map((l) => [l.data, l.encoding, l.subSequenceNumber])).toEqual([
      ['one', 'utf8', 0],
      [users[0]!.data.toString('utf8'), 'utf8', 0],
      [users[1]!.data.toString('utf8'), 'utf8', 1],
      [users[2]!.data.toString('utf8'), 'utf8', 2],
      [Buffer.from([0xff, 0x00]).toString('base64'), 'base64', 0],
    ]);
    expect(lines.every((l) => l.stream === 's' && l.shardId === 'shardId-0')).toBe(true);
  });

  it('given records arriving after the query started, then reading stops there; given bounds, then only records within them are written', async () => {
    const shard = new MemoryShard();
    shard.records = Array.from({ length: 10 }, (_, i) => kinesisRecord('k', `r${i}`, T0 + i * 1000));
    const [result] = await readLiveShards(
      deps(shard),
      [{ stream: 's', shardId: 'shardId-0', afterSequenceNumber: null, readRate }],
      dir,
      settings({ untilMs: T0 + 7000, bounds: { fromMs: T0 + 2000, toMs: T0 + 9000 } }),
    );
    expect(parseRecordLines(readFileSync(result!.file, 'utf8')).map((l) => l.data)).toEqual([
      'r2',
      'r3',
      'r4',
      'r5',
      'r6',
    ]);
    expect(result!.kinesisRecords).toBe(7);
  });

  it('given a closed shard, then it is read to its end', async () => {
    const shard = new MemoryShard();
    shard.records = [kinesisRecord('k', 'a', T0), kinesisRecord('k', 'b', T0 + 1)];
    shard.closed = true;
    const [result] = await readLiveShards(
      deps(shard),
      [{ stream: 's', shardId: 'shardId-0', afterSequenceNumber: null, readRate }],
      dir,
      settings(),
    );
    expect(result!.records).toBe(2);
  });

  it('given checkpoints, then drained shards are skipped and each other shard starts after what is archived', async () => {
    const store = new MemoryObjectStore();
    const checkpoint = (shardId: string, patch: Partial<Checkpoint>) =>
      store.putJsonIfMatch(
        checkpointKey('', 's', shardId),
        { ...initialCheckpoint('s', shardId, []), ...patch },
        null,
      );
    await checkpoint('shardId-0', { lastSequenceNumber: '100', drained: true, shardState: 'closed' });
    await checkpoint('shardId-1', { lastSequenceNumber: '200' });
    const pending = { key: 'archive/x.jsonl.gz', firstSequenceNumber: '301', lastSequenceNumber: '350' };
    await checkpoint('shardId-2', {
      lastSequenceNumber: '300',
      pending: { ...pending, lastArrivalTimestamp: T0, records: 1, bytes: 1 },
    });
    await checkpoint('shardId-3', {
      lastSequenceNumber: '400',
      pending: {
        ...pending,
        key: 'archive/missing.jsonl.gz',
        lastArrivalTimestamp: T0,
        records: 1,
        bytes: 1,
      },
    });
    await store.putObject('archive/x.jsonl.gz', Buffer.from('x'));
    const shard = (shardId: string): ShardDescription => ({ shardId, startingSequenceNumber: '0' });
    const catalog = {
      listShards: async () => ['shardId-0', 'shardId-1', 'shardId-2', 'shardId-3', 'shardId-4'].map(shard),
      listTags: async () => ({ 'reservoir:read-share': '0.5' }),
    } as unknown as StreamCatalog;
    const read = { defaultRate: POLLING.rate, shares: {}, efoStreams: [] };
    // The stream's tag sets the rate: half of each shard's 5 calls/s and 2 MiB/s.
    const readRate = { callsPerSecond: 2.5, bytesPerSecond: 1024 * 1024 };
    expect(await planLiveShards({ store, catalog, prefix: '', read }, 's')).toEqual([
      { stream: 's', shardId: 'shardId-1', afterSequenceNumber: '200', readRate },
      // The pending block's object exists: its records are in the archive listing already.
      { stream: 's', shardId: 'shardId-2', afterSequenceNumber: '350', readRate },
      { stream: 's', shardId: 'shardId-3', afterSequenceNumber: '400', readRate },
      { stream: 's', shardId: 'shardId-4', afterSequenceNumber: null, readRate },
    ]);
  });
});
