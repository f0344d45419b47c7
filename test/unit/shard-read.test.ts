import fc from 'fast-check';
import {
  ServiceUnavailableError,
  StreamNotFoundError,
  SubscriptionInUseError,
  ThrottledError,
} from '../../src/core/errors';
import type { IteratorStart, KinesisRecord, ShardSubscriber, SubscriptionEvent } from '../../src/core/ports';
import { ReadBudget, type ReadRate } from '../../src/core/read-budget';
import { readShard, type ShardReadRequest, type ShardReadSettings } from '../../src/reading/shard-read';
import { kinesisRecord, MemoryShard } from '../support/fakes';

/** A clock that only moves when someone sleeps: waits are exact, and cost no real time. */
class FakeClock {
  time = 1_000_000;
  now = () => this.time;
  sleep = async (ms: number) => {
    this.time += ms;
  };
}

const SETTINGS: ShardReadSettings = {
  getRecordsLimit: 10_000,
  throttleAttempts: 4,
  throttleBaseDelayMs: 100,
};
const ONE_PER_SECOND: ReadRate = { callsPerSecond: 1, bytesPerSecond: 1024 * 1024 };

/** Records the time of each GetRecords call. */
class TimedShard extends MemoryShard {
  callTimes: number[] = [];
  constructor(private readonly clock: FakeClock) {
    super();
  }
  override async getRecords(iterator: string, limit: number) {
    this.callTimes.push(this.clock.now());
    return super.getRecords(iterator, limit);
  }
}

function setup(count: number, batchSize = 3) {
  const clock = new FakeClock();
  const shard = new TimedShard(clock);
  shard.batchSize = batchSize;
  shard.records = Array.from({ length: count }, (_, i) =>
    kinesisRecord(`k${i % 4}`, `r${i}`, clock.time + i),
  );
  const budget = new ReadBudget(clock);
  const deps = { reader: shard, budget, now: clock.now, sleep: clock.sleep };
  return { clock, shard, budget, deps };
}

function request(overrides: Partial<ShardReadRequest> = {}): ShardReadRequest {
  return {
    stream: 's',
    shardId: 'shardId-0',
    start: { type: 'TRIM_HORIZON' },
    mode: { type: 'polling', rate: ONE_PER_SECOND },
    stopAtTip: true,
    ...overrides,
  };
}

async function drain(read: AsyncIterable<{ records: KinesisRecord[] }>): Promise<string[]> {
  const seen: string[] = [];
  for await (const batch of read) for (const record of batch.records) seen.push(record.sequenceNumber);
  return seen;
}

describe('shard read', () => {
  it('given a backlog, then it reads every record once, in order, to the tip, one call per second', async () => {
    const { shard, deps, clock } = setup(10);
    const start = clock.time;
    const read = readShard(deps, SETTINGS, request());
    expect(await drain(read)).toEqual(shard.records.map((r) => r.sequenceNumber));
    expect(read.end).toBe('tip');
    // 4 batches of 3, 3, 3, 1 records, then the empty read that proves the tip.
    expect(shard.callTimes.map((t) => t - start)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(read.usage()).toMatchObject({ calls: 5, throttled: 0, seconds: 5 });
  });

  it('given large records, then the bytes budget spaces the calls: no more than its MB/s on average', async () => {
    const { shard, deps, clock } = setup(0, 1);
    // Three 512 KiB records: each read is half a second of a 1 MiB/s budget.
    shard.records = [0, 1, 2].map((i) => kinesisRecord('k', Buffer.alloc(512 * 1024 - 1, i), clock.time));
    const start = clock.time;
    const read = readShard(
      deps,
      SETTINGS,
      request({ mode: { type: 'polling', rate: { callsPerSecond: 5, bytesPerSecond: 1024 * 1024 } } }),
    );
    await drain(read);
    // Calls 200 ms apart (5/s), but each waits for the previous record's 500 ms of bytes.
    expect(shard.callTimes.map((t) => t - start)).toEqual([0, 500, 1000, 1500]);
    const usage = read.usage();
    expect(usage.bytes / usage.seconds).toBeLessThanOrEqual(1024 * 1024);
  });

  it('given reads of one shard in one process, then they take turns in its budget; other shards have their own', async () => {
    const slept: number[] = [];
    const budget = new ReadBudget({ now: () => 0, sleep: async (ms) => void slept.push(ms) });
    await Promise.all([
      budget.beforeCall('s/shardId-0', ONE_PER_SECOND),
      budget.beforeCall('s/shardId-0', ONE_PER_SECOND),
      budget.beforeCall('s/shardId-1', ONE_PER_SECOND),
      budget.beforeCall('s/shardId-0', ONE_PER_SECOND),
    ]);
    // The first call of each shard goes at once; the next ones of shard 0 wait 1 s and 2 s.
    expect(slept.sort((a, b) => a - b)).toEqual([1000, 2000]);
  });

  it('given records past the time bound, then they are not handed out and the read ends there', async () => {
    const { shard, deps } = setup(10);
    const read = readShard(deps, SETTINGS, request({ untilMs: shard.records[5]!.arrivalTimestamp }));
    expect(await drain(read)).toEqual(shard.records.slice(0, 5).map((r) => r.sequenceNumber));
    expect(read.end).toBe('until');
  });

  it('given a large answer whose bytes hold the next call past the deadline, then the read ends at once instead of sleeping', async () => {
    const { shard, deps, clock } = setup(0, 1);
    shard.records = [0, 1].map((i) => kinesisRecord('k', Buffer.alloc(900 * 1024, i), clock.time));
    const slow = { callsPerSecond: 5, bytesPerSecond: 100 * 1024 };
    const start = clock.time;
    const read = readShard(
      deps,
      SETTINGS,
      request({ mode: { type: 'polling', rate: slow }, deadline: start + 5000 }),
    );
    expect(await drain(read)).toHaveLength(1);
    expect(read.end).toBe('deadline');
    // The 900 KiB are paid for 9 s later: no sleep into that.
    expect(clock.time - start).toBeLessThan(5000);
  });

  it('given the deadline passes, then no new call starts and the read says so', async () => {
    const { shard, deps, clock } = setup(10);
    const read = readShard(deps, SETTINGS, request({ deadline: clock.time + 1500 }));
    expect(await drain(read)).toEqual(shard.records.slice(0, 6).map((r) => r.sequenceNumber));
    expect(read.end).toBe('deadline');
  });

  it('given a closed shard read to its end, then the read ends where Kinesis says, not at the first empty read', async () => {
    const { shard, deps } = setup(4);
    shard.closed = true;
    const read = readShard(deps, SETTINGS, request({ stopAtTip: false }));
    expect(await drain(read)).toHaveLength(4);
    expect(read.end).toBe('shard-end');
  });

  it('given a start at a timestamp, then the first record handed out arrived at or after it', async () => {
    const { shard, deps } = setup(10);
    const read = readShard(
      deps,
      SETTINGS,
      request({ start: { type: 'AT_TIMESTAMP', timestamp: shard.records[7]!.arrivalTimestamp } }),
    );
    expect(await drain(read)).toEqual(shard.records.slice(7).map((r) => r.sequenceNumber));
  });

  it('given persistent throttling, then it backs off with jitter and gives up after its attempts with ThrottledError', async () => {
    const { shard, deps } = setup(3);
    shard.faults = ['throttle', 'throttle', 'throttle', 'throttle'];
    const read = readShard(deps, SETTINGS, request());
    await expect(drain(read)).rejects.toThrow(ThrottledError);
    expect(read.usage().throttled).toBe(4);
  });

  it('for any batch sizes, throttles and expired iterators, every record is handed out exactly once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.constantFrom<'throttle' | 'expired'>('throttle', 'expired'), { maxLength: 12 }),
        fc.boolean(),
        async (count, batchSize, faults, closed) => {
          const { shard, deps } = setup(count, batchSize);
          shard.closed = closed;
          // Fewer throttles than the attempts, so the read must get through.
          let throttles = 0;
          shard.faults = faults.map((fault) =>
            fault === 'throttle' && ++throttles >= SETTINGS.throttleAttempts ? 'expired' : fault,
          );
          const read = readShard(deps, SETTINGS, request({ stopAtTip: !closed }));
          expect(await drain(read)).toEqual(shard.records.map((r) => r.sequenceNumber));
          expect(read.end).toBe(closed ? 'shard-end' : 'tip');
        },
      ),
    );
  });
});

/** Enhanced fan-out, scripted: each subscription pushes up to `perSubscription` events of `perEvent` records. */
class ScriptedSubscriber implements ShardSubscriber {
  subscriptions: IteratorStart[] = [];
  refusals: Error[] = [];
  /** Subscriptions that break after this many events (one entry per subscription, in order). */
  breaks: (number | null)[] = [];
  closed = false;
  constructor(
    private readonly records: KinesisRecord[],
    private readonly perEvent: number,
    private readonly perSubscription: number,
  ) {}
  async ensureConsumer(): Promise<string> {
    return 'arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/reservoir-test:1';
  }
  async *subscribe(_arn: string, _shardId: string, start: IteratorStart): AsyncGenerator<SubscriptionEvent> {
    this.subscriptions.push(start);
    const refusal = this.refusals.shift();
    if (refusal) throw refusal;
    let at =
      start.type === 'TRIM_HORIZON'
        ? 0
        : start.type === 'AFTER_SEQUENCE_NUMBER'
          ? this.records.findIndex((r) => r.sequenceNumber === start.sequenceNumber) + 1
          : 0;
    const breakAfter = this.breaks.shift() ?? null;
    for (let event = 0; event < this.perSubscription; event++) {
      if (event === breakAfter)
        throw Object.assign(new Error('stream reset'), { code: 'ERR_HTTP2_STREAM_ERROR' });
      const records = this.records.slice(at, at + this.perEvent);
      at += records.length;
      const atEnd = at >= this.records.length;
      yield {
        records,
        continuationSequenceNumber: this.closed && atEnd ? null : (records.at(-1)?.sequenceNumber ?? 'same'),
        millisBehindLatest: atEnd ? 0 : 5000,
        ...(this.closed && atEnd ? { childShardIds: ['shardId-1'] } : {}),
      };
      if (this.closed && atEnd) return;
    }
  }
}

describe('shard read with enhanced fan-out', () => {
  const efo = (subscriber: ShardSubscriber) => {
    const clock = new FakeClock();
    return {
      deps: {
        reader: new MemoryShard(),
        subscriber,
        budget: new ReadBudget(clock),
        now: clock.now,
        sleep: clock.sleep,
      },
      mode: {
        type: 'efo' as const,
        consumerArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/reservoir-test:1',
      },
    };
  };

  it('given subscriptions that end, then each renewal continues after the last record: none lost, none repeated', async () => {
    const records = Array.from({ length: 20 }, (_, i) => kinesisRecord('k', `r${i}`, 1000 + i));
    const subscriber = new ScriptedSubscriber(records, 3, 2);
    const { deps, mode } = efo(subscriber);
    const read = readShard(deps, SETTINGS, request({ mode }));
    expect(await drain(read)).toEqual(records.map((r) => r.sequenceNumber));
    expect(read.end).toBe('tip');
    expect(subscriber.subscriptions[1]).toEqual({
      type: 'AFTER_SEQUENCE_NUMBER',
      sequenceNumber: records[5]!.sequenceNumber,
    });
  });

  it('given a closed shard, then the read ends at the event without a continuation', async () => {
    const records = Array.from({ length: 5 }, (_, i) => kinesisRecord('k', `r${i}`, 1000 + i));
    const subscriber = new ScriptedSubscriber(records, 2, 10);
    subscriber.closed = true;
    const { deps, mode } = efo(subscriber);
    const read = readShard(deps, SETTINGS, request({ mode, stopAtTip: false }));
    expect(await drain(read)).toHaveLength(5);
    expect(read.end).toBe('shard-end');
  });

  it('given a subscription that breaks mid-stream, then it renews after the last record: none lost, none repeated', async () => {
    const records = Array.from({ length: 12 }, (_, i) => kinesisRecord('k', `r${i}`, 1000 + i));
    const subscriber = new ScriptedSubscriber(records, 2, 10);
    subscriber.breaks = [2, 1];
    const { deps, mode } = efo(subscriber);
    const read = readShard(deps, SETTINGS, request({ mode }));
    expect(await drain(read)).toEqual(records.map((r) => r.sequenceNumber));
  });

  it('given subscriptions that keep ending without an event, then it backs off and gives up with ServiceUnavailableError', async () => {
    const subscriber = new ScriptedSubscriber([], 1, 0);
    const { deps, mode } = efo(subscriber);
    const read = readShard(deps, SETTINGS, request({ mode }));
    await expect(drain(read)).rejects.toThrow(ServiceUnavailableError);
    expect(subscriber.subscriptions).toHaveLength(SETTINGS.throttleAttempts);
  });

  it('given a subscription AWS rejects for good, then it is not renewed', async () => {
    const subscriber = new ScriptedSubscriber([], 1, 1);
    subscriber.refusals = [new StreamNotFoundError('consumer gone')];
    const { deps, mode } = efo(subscriber);
    await expect(drain(readShard(deps, SETTINGS, request({ mode })))).rejects.toThrow(StreamNotFoundError);
    expect(subscriber.subscriptions).toHaveLength(1);
  });

  it('given the previous subscription is still open, then it waits and subscribes again', async () => {
    const records = Array.from({ length: 4 }, (_, i) => kinesisRecord('k', `r${i}`, 1000 + i));
    const subscriber = new ScriptedSubscriber(records, 4, 2);
    subscriber.refusals = [new SubscriptionInUseError('in use'), new ThrottledError('limit')];
    const { deps, mode } = efo(subscriber);
    const read = readShard(deps, SETTINGS, request({ mode }));
    expect(await drain(read)).toHaveLength(4);
    expect(read.usage()).toMatchObject({ throttled: 2, calls: 3 });
  });
});

describe('read budget, per call', () => {
  it('given a shard of large records, then each call asks for no more than one call’s share of the bytes', async () => {
    const { shard, deps, clock } = setup(0, 10_000);
    // 2,000 records of 10 KiB: a full 10,000-record answer would be 20 MiB at once.
    shard.records = Array.from({ length: 2000 }, (_, i) =>
      kinesisRecord('k', Buffer.alloc(10 * 1024, i), clock.time),
    );
    const limits: number[] = [];
    const getRecords = shard.getRecords.bind(shard);
    shard.getRecords = async (iterator, limit) => {
      limits.push(limit);
      return getRecords(iterator, limit);
    };
    const read = readShard(deps, SETTINGS, request());
    expect(await drain(read)).toHaveLength(2000);
    // First a small probe, then 1 MiB per call at 1 call/s: about 100 records of 10 KiB.
    expect(limits[0]).toBe(10);
    expect(Math.max(...limits.slice(1))).toBeLessThanOrEqual(103);
    expect(Math.min(...limits.slice(1))).toBeGreaterThanOrEqual(95);
  });
});
