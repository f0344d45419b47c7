import { gzipSync } from 'node:zlib';
import replayRequestSchema from '../../schemas/replay-request.schema.json';
import { loadLocalDefinition } from '../../src/local/asl-definition';
import { compileValidator } from '../../src/validation/compile';
import type { PutResult, RecordWriter } from '../../src/core/ports';
import {
  PACE_TICK_MS,
  PaceGate,
  paceDecision,
  paceSchedule,
  REPLAY_MAX_CONCURRENCY,
  type ReplayPace,
} from '../../src/core/replay-pace';
import type { ReplayWorkItem } from '../../src/core/replay-plan';
import { resolveReplayRequest, type ReplayRequest } from '../../src/core/replay-request';
import { serializeRecordLine } from '../../src/core/record-line';
import { storePacePlan } from '../../src/replay/pace-schedule';
import { ReplayWorker, type ReplayProgress } from '../../src/replay/replay-worker';
import { replayRunFiles } from '../../src/replay/run-files';
import { instantBudget, MemoryObjectStore } from '../support/fakes';

/** A clock that moves only when someone sleeps (or a put takes time). */
class VirtualClock {
  t = 1_700_000_000_000;
  now = () => this.t;
  sleep = async (ms: number) => {
    this.t += Math.max(0, ms);
  };
}

/** Records what was put and when (virtual time); every put takes `putMs`. */
class TimedWriter implements RecordWriter {
  readonly puts: { at: number; partitionKey: string; data: string }[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly putMs = 5,
  ) {}
  async putRecords(
    _stream: string,
    entries: { partitionKey: string; data: Uint8Array }[],
  ): Promise<PutResult[]> {
    this.clock.t += this.putMs;
    for (const entry of entries)
      this.puts.push({
        at: this.clock.t,
        partitionKey: entry.partitionKey,
        data: Buffer.from(entry.data).toString(),
      });
    return entries.map(() => ({ ok: true }));
  }
  async assertStreamExists(): Promise<void> {}
}

const PREFIX = 'p/';
const ORIGIN = Date.parse('2026-11-20T10:00:00Z');

/** One item of `count` records, one every `gapMs`, keys k0..k4 in turn; payload = index. */
function archivedItem(store: MemoryObjectStore, count: number, gapMs: number): ReplayWorkItem {
  const key = `${PREFIX}archive/stream=s/dt=2026-11-20/hr=10/shardId-0/1-${count}.jsonl.gz`;
  const lines = Array.from({ length: count }, (_, i) =>
    serializeRecordLine({
      stream: 's',
      shardId: 'shardId-0',
      sequenceNumber: String(1000 + i),
      subSequenceNumber: 0,
      partitionKey: `k${i % 5}`,
      arrivalTimestamp: ORIGIN + i * gapMs,
      data: Buffer.from(String(i)),
    }),
  );
  void store.putObject(key, gzipSync(`${lines.join('\n')}\n`));
  return {
    itemId: 'item-00000',
    shardIds: ['shardId-0'],
    segments: [{ type: 'archive', shardId: 'shardId-0', key, bytes: 1 }],
    estimatedRecords: count,
  };
}

function pacedWorker(clock: VirtualClock, store: MemoryObjectStore, writer: RecordWriter) {
  return new ReplayWorker(
    {
      prefix: PREFIX,
      flushRecords: 1000,
      defaultRate: { callsPerSecond: 1, bytesPerSecond: 1_000_000 },
      maxAttempts: 3,
      baseDelayMs: 1,
      initialRatePerSecond: 100_000,
      getRecordsLimit: 1000,
      throttleAttempts: 3,
      throttleBaseDelayMs: 1,
    },
    {
      store,
      writer,
      reader: null as never,
      budget: instantBudget(clock.now),
      now: clock.now,
      // Called through the clock: a test may wrap its sleep after the worker is built.
      sleep: (ms) => clock.sleep(ms),
    },
  );
}

function pacedReplay(request: Partial<ReplayRequest>, now: number) {
  return resolveReplayRequest(
    {
      stream: 's',
      target: 't',
      format: 'raw',
      from: new Date(ORIGIN).toISOString(),
      to: new Date(ORIGIN + 86_400_000).toISOString(),
      ...request,
    },
    new Date(now),
    'replay-paced',
  );
}

/**
 * A paced replay of one archived item on a virtual clock: `count` records `gapMs` apart, the
 * execution's pace plan stored (origin: the first record), and a worker to run it.
 */
async function pacedSetup(count: number, gapMs: number, pace: ReplayPace, putMs?: number) {
  const clock = new VirtualClock();
  const store = new MemoryObjectStore();
  const writer = new TimedWriter(clock, putMs);
  const item = archivedItem(store, count, gapMs);
  const replay = pacedReplay({ pace }, clock.t);
  const files = replayRunFiles(PREFIX, replay.replayId);
  await store.putJson(files.pace, { plannedAt: 1, originArrival: ORIGIN, items: 1, resumeArrival: null });
  return { clock, store, writer, item, replay, files, worker: pacedWorker(clock, store, writer) };
}

describe('replay pacing: the shared schedule', () => {
  it('given speedup 10, then a record is due a tenth of its distance from the first arrival after the start', () => {
    const schedule = paceSchedule({ speedup: 10 }, { now: 5_000, originArrival: 100_000, items: 3 });
    const gate = new PaceGate(schedule);
    expect(gate.due(100_000, 0)).toBe(5_000);
    expect(gate.due(160_000, 0)).toBe(11_000);
  });

  it('given recordsPerSecond, then the cap is split across the items that run at once (the ASL MaxConcurrency at most)', () => {
    const share = (items: number) =>
      paceSchedule({ recordsPerSecond: 1200 }, { now: 0, originArrival: 0, items }).itemRecordsPerSecond;
    expect(share(1)).toBe(1200);
    expect(share(3)).toBe(400);
    expect(share(500)).toBe(1200 / REPLAY_MAX_CONCURRENCY);
  });

  it('given a replay run again after half its records, then the schedule resumes there instead of rushing the rest out', () => {
    const schedule = paceSchedule(
      { speedup: 2 },
      { now: 1_000_000, originArrival: 0, items: 1, resumeArrival: 30_000 },
    );
    expect(new PaceGate(schedule).due(30_000, 0)).toBe(1_000_000);
    expect(new PaceGate(schedule).due(40_000, 0)).toBe(1_005_000);
  });

  it('given a rate cap, then records are spaced 1/R apart and a pause is not caught up with a burst', () => {
    const gate = new PaceGate(paceSchedule({ recordsPerSecond: 10 }, { now: 0, originArrival: 0, items: 1 }));
    expect(gate.due(0, 0)).toBe(0);
    gate.take(0);
    expect(gate.due(0, 0)).toBe(100);
    gate.take(100);
    // The worker was away for 10 s: the next record goes now, and the one after 100 ms later.
    expect(gate.due(0, 10_200)).toBe(200);
    gate.take(10_200);
    expect(gate.due(0, 10_200)).toBe(10_300);
  });

  it('given a record due after the invocation deadline, then the worker yields instead of waiting past it', () => {
    expect(paceDecision(1_000, 950, 10_000)).toEqual({ action: 'put' });
    expect(paceDecision(5_000, 1_000, 10_000)).toEqual({ action: 'wait', ms: 4_000 });
    expect(paceDecision(20_000, 1_000, 10_000)).toEqual({ action: 'yield', ms: 9_000 });
  });
});

describe('replay pacing in the worker (virtual clock)', () => {
  it('given speedup 10 over 60 s of traffic, then the puts take 6 s, none before its due time, in order per key', async () => {
    const { clock, writer, item, replay, worker } = await pacedSetup(601, 100, { speedup: 10 }); // arrivals over exactly 60 s
    clock.t += 3_000; // the item starts 3 s after planning: the schedule starts with it
    const start = clock.t;

    const result = await worker.run(replay, item, start + 900_000);

    expect(result).toMatchObject({ done: true, put: 601 });
    const last = writer.puts.at(-1)!;
    expect(last.at - start).toBeGreaterThanOrEqual(6_000 - PACE_TICK_MS);
    expect(last.at - start).toBeLessThan(6_500);
    for (const put of writer.puts) {
      const due = start + (Number(put.data) * 100) / 10;
      expect(put.at).toBeGreaterThanOrEqual(due - PACE_TICK_MS);
    }
    for (let k = 0; k < 5; k++) {
      const order = writer.puts.filter((p) => p.partitionKey === `k${k}`).map((p) => Number(p.data));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('given a pause longer than the invocation, then the item returns at its deadline and the next invocation continues on schedule', async () => {
    const { clock, store, writer, item, replay, worker } = await pacedSetup(3, 600_000, {
      speedup: 1,
    }); // 0, 10 min, 20 min
    const start = clock.t;

    const first = await worker.run(replay, item, start + 900_000);
    expect(first).toMatchObject({ done: false, put: 2 });
    expect(clock.t - start).toBe(900_000);
    const progress = await store.getJson<ReplayProgress>(
      replayRunFiles(PREFIX, replay.replayId).progress(item.itemId),
    );
    expect(progress?.value).toMatchObject({
      cursor: { lines: 2 },
      counts: { read: 2, put: 2 },
      lastArrival: ORIGIN + 600_000,
    });

    const second = await worker.run(replay, item, clock.t + 900_000);
    expect(second).toMatchObject({ done: true, put: 3, read: 3 });
    expect(writer.puts.map((p) => p.at - start)).toEqual([5, 600_005, 1_200_005]);
  });

  it('given a stop while a paced item waits, then it saves what it put as its resume point and ends with ReplayStoppedError', async () => {
    const { clock, store, writer, item, replay, files, worker } = await pacedSetup(3, 60_000, { speedup: 1 }); // 0, 1 min, 2 min
    const start = clock.t;
    const sleep = clock.sleep;
    clock.sleep = async (ms) => {
      await sleep(ms);
      if (clock.t - start >= 30_000) await store.putJson(files.stopped, { cause: 'enough' });
    };

    await expect(worker.run(replay, item, start + 900_000)).rejects.toMatchObject({
      name: 'ReplayStoppedError',
      message: expect.stringContaining('enough'),
    });
    expect(clock.t - start).toBeLessThan(35_000);
    expect(writer.puts).toHaveLength(1);
    const progress = (await store.getJson<ReplayProgress>(files.progress(item.itemId)))!.value;
    expect(progress).toMatchObject({ done: false, cursor: { lines: 1 }, counts: { put: 1 } });
  });

  it('given a later run of the same replay id while an item of the stopped run waits, then that item ends without saving over the later run’s progress', async () => {
    const { clock, store, writer, item, replay, files, worker } = await pacedSetup(3, 60_000, { speedup: 1 }); // 0, 1 min, 2 min
    const start = clock.t;
    const sleep = clock.sleep;
    const later = {
      done: false,
      cursor: { segment: 0, lines: 2, afterSequenceNumber: null },
      marker: 'run 1',
    };
    clock.sleep = async (ms) => {
      await sleep(ms);
      // The stop and the rerun happened between two looks: the rerun's item has moved on already.
      if (clock.t - start >= 30_000 && !(await store.exists(files.stopped))) {
        await store.putJson(files.stopped, { cause: null, run: 1 });
        await store.putJson(files.progress(item.itemId), later);
      }
    };

    await expect(worker.run(replay, item, start + 900_000)).rejects.toMatchObject({
      name: 'ReplayStoppedError',
      message: expect.stringContaining('run 1 of this replay id took over'),
    });
    expect(writer.puts).toHaveLength(1);
    expect((await store.getJson<unknown>(files.progress(item.itemId)))!.value).toEqual(later);
  });

  it('given more work items than run at once, then a paced replay is refused at planning, naming the field', async () => {
    const store = new MemoryObjectStore();
    const replay = pacedReplay({ pace: { speedup: 10 } }, 0);
    const items = Array.from({ length: REPLAY_MAX_CONCURRENCY + 1 }, (_, i) => ({ itemId: `item-${i}` }));
    await store.putJson(replayRunFiles(PREFIX, replay.replayId).plan, { items });
    await expect(storePacePlan(store, PREFIX, replay, 0)).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/^field pace: .* at most 40; this one has 41/),
    });
  });

  it('given recordsPerSecond 50, then 200 records take about 4 s', async () => {
    const { clock, writer, item, replay, worker } = await pacedSetup(200, 0, { recordsPerSecond: 50 }, 1);
    const start = clock.t;
    await worker.run(replay, item, start + 900_000);
    const span = writer.puts.at(-1)!.at - start;
    expect(span).toBeGreaterThanOrEqual(3_980 - PACE_TICK_MS);
    expect(span).toBeLessThan(4_300);
    // No second of the run holds more than the cap (plus one tick's batch).
    const perSecond = new Map<number, number>();
    for (const put of writer.puts) {
      const second = Math.floor((put.at - start) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(50 + 5);
  });
});

describe('replay pacing: the request field pace', () => {
  const validate = compileValidator<ReplayRequest>(replayRequestSchema, 'replay request');
  const error = (pace: unknown) => {
    try {
      validate({ stream: 's', pace });
      return null;
    } catch (caught) {
      return (caught as Error).message;
    }
  };

  it('given one of speedup or recordsPerSecond, then the request is valid', () => {
    expect(error({ speedup: 10 })).toBeNull();
    expect(error({ speedup: 0.5 })).toBeNull();
    expect(error({ recordsPerSecond: 250 })).toBeNull();
  });

  it('given both, neither, a non-positive value or another field, then the error names the field and the rule', () => {
    expect(error({ speedup: 10, recordsPerSecond: 5 })).toContain(
      'field pace: must NOT have more than 1 properties (maxProperties)',
    );
    expect(error({})).toContain('field pace: must NOT have fewer than 1 properties (minProperties)');
    expect(error({ speedup: 0 })).toContain('field pace.speedup: must be > 0 (exclusiveMinimum)');
    expect(error({ recordsPerSecond: -1 })).toContain(
      'field pace.recordsPerSecond: must be > 0 (exclusiveMinimum)',
    );
    expect(error({ speedup: '10' })).toContain('field pace.speedup: must be number (type)');
    expect(error({ speed: 10 })).toContain('field pace.speed: is not allowed (additionalProperties)');
  });

  it('given the replay ASL, then its item concurrency is the one the rate cap is split by', () => {
    const definition = loadLocalDefinition('replay').definition as {
      States: Record<string, { MaxConcurrency?: number }>;
    };
    expect(definition.States.ReplayItems?.MaxConcurrency).toBe(REPLAY_MAX_CONCURRENCY);
  });
});
