import { gunzipSync } from 'node:zlib';
import { parseRecordLines, type RecordLine } from '../../src/core/record-line';
import { kplAggregate } from '../../src/local/traffic';
import { queryWindowFiles } from '../../src/query-window/files';
import { snapshotLiveShard, type SnapshotSettings } from '../../src/query-window/snapshot';
import {
  cleanupQueryWindow,
  closeQueryWindow,
  storeWindowToken,
  TaskNoLongerWaitingError,
  writeStatus,
  type TaskTokenSender,
} from '../../src/query-window/window';
import { instantBudget, kinesisRecord, MemoryObjectStore, MemoryShard, POLLING } from '../support/fakes';

/** The live snapshot of one shard (SnapshotLiveShard) and a window's token and status files, in memory. */

const WINDOW = 'qw-unit';
const files = queryWindowFiles('', WINDOW);
const SETTINGS: SnapshotSettings = {
  getRecordsLimit: 100,
  throttleAttempts: 4,
  throttleBaseDelayMs: 0,
  partRecords: 4,
  defaultRate: POLLING.rate,
};
const CUTOFF = 1_000_000;

function shardWith(count: number, arrival: (i: number) => number = (i) => CUTOFF - 1000 + i) {
  const shard = new MemoryShard();
  shard.records = Array.from({ length: count }, (_, i) =>
    kinesisRecord(`key-${i % 3}`, `{"i":${i}}`, arrival(i)),
  );
  return shard;
}

function snapshotLines(store: MemoryObjectStore): { key: string; lines: RecordLine[] }[] {
  return [...store.objects.entries()]
    .filter(([key]) => key.startsWith(files.live))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, object]) => ({ key, lines: parseRecordLines(gunzipSync(object.body).toString('utf8')) }));
}

function run(store: MemoryObjectStore, shard: MemoryShard, after: string | null, now = () => 0) {
  return snapshotLiveShard(
    { store, reader: shard, budget: instantBudget(now), prefix: '', now, sleep: async () => undefined },
    SETTINGS,
    {
      windowId: WINDOW,
      cutoff: CUTOFF,
      shard: { stream: 'orders', shardId: 'shardId-000000000001', after },
      // A minute of budget from the invocation's start, as invocationDeadline gives it.
      deadline: now() + 60_000,
    },
  );
}

describe('live snapshot of one shard', () => {
  it('when the tail has records, then those after the last archived one and before the opening become record lines in parts', async () => {
    const store = new MemoryObjectStore();
    const shard = shardWith(12, (i) => (i < 10 ? CUTOFF - 1000 + i : CUTOFF + i));
    shard.faults = ['throttle', 'expired'];
    const result = await run(store, shard, shard.records[2]!.sequenceNumber);
    const parts = snapshotLines(store);

    expect(result).toEqual({ done: true, records: 7 });
    expect(parts.map((p) => p.key)).toEqual([
      files.liveObject('orders', 'shardId-000000000001', 0),
      files.liveObject('orders', 'shardId-000000000001', 1),
    ]);
    expect(parts.flatMap((p) => p.lines).map((l) => l.sequenceNumber)).toEqual(
      shard.records.slice(3, 10).map((r) => r.sequenceNumber),
    );
    expect(parts[0]!.lines[0]).toMatchObject({
      stream: 'orders',
      shardId: 'shardId-000000000001',
      subSequenceNumber: 0,
      encoding: 'utf8',
    });
    expect((await store.getJson(files.liveProgress('orders', 'shardId-000000000001')))?.value).toMatchObject({
      done: true,
      records: 7,
      part: 2,
    });
    expect(await run(store, shard, null)).toEqual({ done: true, records: 7 });
  });

  it('when a shard was never archived, then it is read from its oldest record', async () => {
    const store = new MemoryObjectStore();
    const shard = shardWith(3);

    expect(await run(store, shard, null)).toEqual({ done: true, records: 3 });
  });

  it('when records are KPL aggregates, then each user record is a line, and parts never split an aggregate', async () => {
    const store = new MemoryObjectStore();
    const shard = new MemoryShard();
    const users = Array.from({ length: 6 }, (_, i) => ({
      partitionKey: `k${i}`,
      data: Buffer.from(`u${i}`),
    }));
    shard.records = kplAggregate(users).map((a) => kinesisRecord(a.partitionKey, a.data, CUTOFF - 10));
    await run(store, shard, null);
    const lines = snapshotLines(store).flatMap((p) => p.lines);

    expect(lines.map((l) => [l.partitionKey, l.data, l.subSequenceNumber])).toEqual(
      users.map((u, i) => [u.partitionKey, u.data.toString(), i]),
    );
    expect(snapshotLines(store)).toHaveLength(1);
  });

  it('when the time budget ends, then it stops with done: false and the next invocation resumes where it stopped', async () => {
    const store = new MemoryObjectStore();
    const shard = shardWith(10);
    let clock = 0;
    // Each GetRecords call takes 20 s of the minute's budget: an invocation ends after three.
    const getRecords = shard.getRecords.bind(shard);
    shard.getRecords = async (iterator, limit) => {
      clock += 20_000;
      return getRecords(iterator, limit);
    };
    const now = () => clock;
    const first = await run(store, shard, null, now);
    const rest: { done: boolean; records: number }[] = [];
    for (let i = 0; i < 10 && !(rest.at(-1)?.done ?? false); i++)
      rest.push(await run(store, shard, null, now));

    expect(first.done).toBe(false);
    expect(rest.at(-1)).toEqual({ done: true, records: 10 });
    expect(snapshotLines(store).flatMap((p) => p.lines.map((l) => l.sequenceNumber))).toEqual(
      shard.records.map((r) => r.sequenceNumber),
    );
  });

  it('when an invocation dies between writing a part and its progress, then the retry writes the same part again', async () => {
    const store = new MemoryObjectStore();
    const shard = shardWith(6);
    store.crashAfterWrites = 1;
    await expect(run(store, shard, null)).rejects.toThrow(/simulated crash/);
    const written = store.objects.get(files.liveObject('orders', 'shardId-000000000001', 0))!.body;
    store.crashAfterWrites = null;
    await run(store, shard, null);

    expect(
      store.objects.get(files.liveObject('orders', 'shardId-000000000001', 0))!.body.equals(written),
    ).toBe(true);
    expect(snapshotLines(store).flatMap((p) => p.lines)).toHaveLength(6);
  });
});

class Tokens implements TaskTokenSender {
  sent: { token: string; output: unknown }[] = [];
  waiting = new Set<string>();
  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    if (!this.waiting.delete(token)) throw new TaskNoLongerWaitingError('no such task');
    this.sent.push({ token, output });
  }
}

describe('a window’s token and status', () => {
  const endpoints = {
    clusterId: 'j-1',
    clusterName: 'reservoir-query-window-qw-unit',
    masterAddress: 'm',
    drillWebUrl: 'http://m:8047',
    drillJdbcUrl: 'jdbc:drill:drillbit=m:31010',
    hiveJdbcUrl: 'jdbc:hive2://m:10000/reservoir',
    ports: { drillWeb: 8047, drillJdbc: 31010, hiveServer2: 10000 },
  };

  it('when the window is unknown, then close says so', async () => {
    expect(
      await closeQueryWindow({ store: new MemoryObjectStore(), prefix: '', sender: new Tokens() }, 'nope'),
    ).toBe('not-found');
  });

  it('when the window is open, then close sends its token back once', async () => {
    const store = new MemoryObjectStore();
    const tokens = new Tokens();
    tokens.waiting.add('t-1');
    await writeStatus(store, files.status, { windowId: WINDOW, phase: 'opening' });
    await storeWindowToken(
      { store, prefix: '', sender: tokens, now: () => new Date(Date.UTC(2026, 0, 1)) },
      { windowId: WINDOW, token: 't-1', endpoints, timeoutSeconds: 3600 },
    );

    expect((await store.getJson(files.status))?.value).toMatchObject({
      phase: 'open',
      endpoints,
      closesBy: '2026-01-01T01:00:00.000Z',
    });
    expect(await closeQueryWindow({ store, prefix: '', sender: tokens }, WINDOW)).toBe('closing');
    expect(tokens.sent).toEqual([
      { token: 't-1', output: expect.objectContaining({ closedBy: 'reservoir query-window close' }) },
    ]);
    // The state machine has not cleaned up yet, but the task is no longer waiting.
    expect(await closeQueryWindow({ store, prefix: '', sender: tokens }, WINDOW)).toBe('already-closed');
  });

  it('when the cleanup runs, then the snapshot, progress, views and token go, and the status tells how it ended', async () => {
    const store = new MemoryObjectStore();
    for (const key of [
      files.liveObject('orders', 's-1', 0),
      files.liveProgress('orders', 's-1'),
      `${files.drillViews}records.view.drill`,
      files.token,
      files.hiveTables,
      files.request,
    ])
      await store.putJson(key, {});
    await writeStatus(store, files.status, { windowId: WINDOW, phase: 'open' });
    const result = await cleanupQueryWindow(
      { store, prefix: '', now: () => new Date(0) },
      { windowId: WINDOW, timedOut: { Error: 'States.Timeout' } },
    );

    expect(result).toEqual({ phase: 'timed-out', removed: 3 });
    expect([...store.objects.keys()].sort()).toEqual([files.hiveTables, files.request, files.status].sort());
    expect(
      (
        await cleanupQueryWindow(
          { store, prefix: '', now: () => new Date(0) },
          {
            windowId: WINDOW,
            terminateError: { Error: 'States.TaskFailed', Cause: 'denied' },
            clusterId: 'j-9',
          },
        )
      ).phase,
    ).toBe('failed');
    expect((await store.getJson(files.status))?.value).toMatchObject({
      phase: 'failed',
      error: { Error: 'ClusterNotTerminated', Cause: 'cluster j-9 may still be running: denied' },
    });
  });
});
