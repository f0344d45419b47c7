import { gunzipSync, gzipSync } from 'node:zlib';
import { acknowledgeGap, listGaps } from '../../src/archive/gaps';
import { formatGaps } from '../../src/cli/commands/gaps';
import { ShardArchiver } from '../../src/archive/shard-archiver';
import type { Checkpoint } from '../../src/core/checkpoint';
import { DataGapError, ValidationError } from '../../src/core/errors';
import { gapLedgerKey } from '../../src/core/gap-ledger';
import { checkpointKey, parseArchiveObjectKey } from '../../src/core/layout';
import { parseRecordLines } from '../../src/core/record-line';
import { SHARD_READ_LIMITS } from '../../src/core/read-budget';
import { instantBudget, kinesisRecord, MemoryObjectStore, MemoryShard, POLLING } from '../support/fakes';

const start = Date.UTC(2026, 10, 21, 9, 0, 0);
const SHARD = 'shardId-000000000000';
let clock = start;
const now = () => clock;

const request = {
  stream: 's',
  shardId: SHARD,
  parentShardIds: [],
  closed: false,
  deadline: Number.MAX_SAFE_INTEGER,
  holder: 'run-1',
  read: POLLING,
};

function archiverFor(shard: MemoryShard, store: MemoryObjectStore) {
  return new ShardArchiver(
    {
      prefix: '',
      maxObjectBytes: 400,
      getRecordsLimit: 10_000,
      throttleAttempts: 3,
      throttleBaseDelayMs: 0,
      leaseMs: 60_000,
    },
    {
      reader: shard,
      store,
      compress: (body) => gzipSync(body),
      budget: instantBudget(now),
      now,
      sleep: async () => undefined,
      onGap: () => undefined,
    },
  );
}

const acknowledge = (shard: MemoryShard, store: MemoryObjectStore, note: string | null = 'outage') =>
  acknowledgeGap(
    {
      store,
      prefix: '',
      read: { reader: shard, budget: instantBudget(now), now, sleep: async () => undefined },
      readSettings: { getRecordsLimit: 10_000, throttleAttempts: 3, throttleBaseDelayMs: 0 },
      rate: SHARD_READ_LIMITS,
    },
    { stream: 's', shardId: SHARD, by: 'ops', note },
  );

const checkpointOf = async (store: MemoryObjectStore) =>
  (await store.getJson<Checkpoint>(checkpointKey('', 's', SHARD)))!.value;

function archivedSequenceNumbers(store: MemoryObjectStore): string[] {
  return [...store.objects.keys()]
    .filter((key) => parseArchiveObjectKey(key))
    .flatMap((key) => parseRecordLines(gunzipSync(store.objects.get(key)!.body).toString('utf8')))
    .map((line) => line.sequenceNumber);
}

/** A shard archived up to 10 records, then 5 more that expire unarchived, then 5 still there. */
async function gappedShard() {
  clock = start;
  const shard = new MemoryShard();
  const store = new MemoryObjectStore();
  for (let i = 0; i < 10; i++) shard.records.push(kinesisRecord(`k${i % 3}`, `r${i}`, start + i));
  await archiverFor(shard, store).archive(request);
  for (let i = 10; i < 20; i++) shard.records.push(kinesisRecord(`k${i % 3}`, `r${i}`, start + i));
  shard.trimmedBefore = 15;
  return { shard, store };
}

describe('data gaps that people resolve', () => {
  it('given a gap, then each run fails with DataGapError and the checkpoint keeps it open: first detected, last seen', async () => {
    const { shard, store } = await gappedShard();
    clock = start + 60_000;
    await expect(archiverFor(shard, store).archive(request)).rejects.toBeInstanceOf(DataGapError);
    const firstSeen = await checkpointOf(store);
    expect(firstSeen.openGap).toEqual({
      from: shard.records[9]!.sequenceNumber,
      fromArchived: true,
      to: shard.records[15]!.sequenceNumber,
      firstDetected: new Date(start + 60_000).toISOString(),
      lastSeen: new Date(start + 60_000).toISOString(),
    });
    expect(firstSeen.lease).toBeNull();

    clock = start + 120_000;
    await expect(archiverFor(shard, store).archive({ ...request, holder: 'run-2' })).rejects.toBeInstanceOf(
      DataGapError,
    );
    expect((await checkpointOf(store)).openGap).toMatchObject({
      firstDetected: new Date(start + 60_000).toISOString(),
      lastSeen: new Date(start + 120_000).toISOString(),
    });
    expect(await listGaps(store, '')).toEqual({
      open: [
        expect.objectContaining({ stream: 's', shardId: SHARD, from: shard.records[9]!.sequenceNumber }),
      ],
      acknowledged: [],
    });
  });

  it('given the gap acknowledged, then the ledger holds it, and the next run archives from the oldest record left, none twice', async () => {
    const { shard, store } = await gappedShard();
    await expect(archiverFor(shard, store).archive(request)).rejects.toBeInstanceOf(DataGapError);
    shard.trimmedBefore = 16; // the trim horizon moved on since the run: the gap ends where it is now
    clock = start + 180_000;
    const result = await acknowledge(shard, store);
    const from = shard.records[9]!.sequenceNumber;
    const to = shard.records[16]!.sequenceNumber;
    expect(result).toMatchObject({ key: gapLedgerKey('', 's', SHARD, from, to), resumesAt: to });
    expect((await store.getJson(result.key))!.value).toMatchObject({
      stream: 's',
      shardId: SHARD,
      from,
      fromArchived: true,
      to,
      acknowledgedAt: new Date(start + 180_000).toISOString(),
      acknowledgedBy: 'ops',
      note: 'outage',
    });
    expect(await listGaps(store, '', ['s'])).toMatchObject({ open: [], acknowledged: [{ from, to }] });

    await expect(archiverFor(shard, store).archive(request)).resolves.toMatchObject({
      status: 'caught-up',
      records: 4,
    });
    const archived = archivedSequenceNumbers(store);
    expect(archived).toEqual(
      [...shard.records.slice(0, 10), ...shard.records.slice(16)].map((r) => r.sequenceNumber),
    );
    expect(await checkpointOf(store)).toMatchObject({ openGap: null, resumeAfterGap: null });
    // Later runs go on as usual.
    shard.records.push(kinesisRecord('k', 'after', start + 99));
    await expect(archiverFor(shard, store).archive(request)).resolves.toMatchObject({ records: 1 });
    expect(new Set(archivedSequenceNumbers(store)).size).toBe(15);
  });

  it('given an acknowledged gap whose first record expired too before the next run, then that is a new gap, never skipped', async () => {
    const { shard, store } = await gappedShard();
    await expect(archiverFor(shard, store).archive(request)).rejects.toBeInstanceOf(DataGapError);
    await acknowledge(shard, store);
    shard.trimmedBefore = 17;
    const error = (await archiverFor(shard, store)
      .archive(request)
      .catch((e: unknown) => e)) as DataGapError;
    expect(error).toBeInstanceOf(DataGapError);
    expect(error.message).toContain(`from sequence number ${shard.records[15]!.sequenceNumber}`);
    expect((await checkpointOf(store)).openGap).toMatchObject({
      from: shard.records[15]!.sequenceNumber,
      fromArchived: false,
      to: shard.records[17]!.sequenceNumber,
    });
  });

  it('given no open gap, or a run holding the shard, then acknowledging refuses and changes nothing', async () => {
    const { shard, store } = await gappedShard();
    await expect(acknowledge(shard, store)).rejects.toThrow(/has no open data gap/);
    await expect(archiverFor(shard, store).archive(request)).rejects.toBeInstanceOf(DataGapError);
    const gapped = await store.getJson<Checkpoint>(checkpointKey('', 's', SHARD));
    await store.putJsonIfMatch(
      checkpointKey('', 's', SHARD),
      { ...gapped!.value, lease: { holder: 'run-9', expiresAt: new Date(clock + 60_000).toISOString() } },
      gapped!.etag,
    );
    await expect(acknowledge(shard, store)).rejects.toThrow(ValidationError);
    await expect(acknowledge(shard, store)).rejects.toThrow(/held by archive run run-9/);
    expect((await listGaps(store, '')).acknowledged).toEqual([]);
  });
});

describe('reservoir gaps output', () => {
  it('given an open and an acknowledged gap, then the table marks each and says how to resolve the open one', () => {
    const text = formatGaps({
      open: [
        {
          stream: 's',
          shardId: SHARD,
          from: '10',
          fromArchived: true,
          to: '40',
          firstDetected: '2026-11-22T10:00:00.000Z',
          lastSeen: '2026-11-22T11:00:00.000Z',
        },
      ],
      acknowledged: [
        {
          stream: 's',
          shardId: 'shardId-000000000001',
          from: '5',
          fromArchived: false,
          to: '9',
          firstDetected: '2026-11-20T10:00:00.000Z',
          lastSeen: '2026-11-20T11:00:00.000Z',
          acknowledgedAt: '2026-11-20T12:00:00.000Z',
          acknowledgedBy: 'ops',
          note: 'outage',
        },
      ],
    }).split('\n');
    expect(lines(text, 'open')).toContain('after 10, before 40');
    expect(lines(text, 'acknowledged')).toContain('from 5, before 9');
    expect(lines(text, 'acknowledged')).toContain('2026-11-20T12:00:00.000Z, ops, outage');
    expect(text.at(-1)).toContain('`reservoir gaps acknowledge --stream S --shard ID [--note TEXT]`');
    expect(formatGaps({ open: [], acknowledged: [] })).toBe('no data gaps');
  });
});

const lines = (text: string[], state: string) =>
  text.find((line) => line.trimStart().startsWith(`${state} `)) ?? '';
