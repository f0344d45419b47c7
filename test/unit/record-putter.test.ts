import fc from 'fast-check';
import { RecordTooLargeError, ReplayDeliveryError, ThrottledError } from '../../src/core/errors';
import type { PutResult, RecordWriter } from '../../src/core/ports';
import { takeBatch, type PutEntry } from '../../src/core/put-batcher';
import { RecordPutter } from '../../src/replay/record-putter';

const entry = (key: string, n: number, size = 10): PutEntry => ({
  partitionKey: key,
  data: Buffer.alloc(size, n % 256),
  source: { shardId: 'shardId-000000000000', sequenceNumber: String(1000 + n), subSequenceNumber: 0 },
});

/** A target that refuses entries by a script, and records what it accepted, in order. */
class ScriptedTarget implements RecordWriter {
  accepted: PutEntry[] = [];
  batches: number[] = [];
  constructor(
    private readonly refuse: (
      call: number,
      index: number,
    ) => 'ok' | 'throttle' | 'internal' | 'request-throttle',
  ) {}
  private calls = 0;
  async putRecords(
    _stream: string,
    entries: { partitionKey: string; data: Uint8Array }[],
  ): Promise<PutResult[]> {
    const call = this.calls++;
    this.batches.push(entries.length);
    if (this.refuse(call, -1) === 'request-throttle') throw new ThrottledError('Rate exceeded');
    return entries.map((e, i) => {
      const verdict = this.refuse(call, i);
      if (verdict === 'throttle')
        return {
          ok: false,
          errorCode: 'ProvisionedThroughputExceededException',
          errorMessage: 'Rate exceeded for shard',
        };
      if (verdict === 'internal')
        return { ok: false, errorCode: 'InternalFailure', errorMessage: 'Internal service failure.' };
      this.accepted.push(e as PutEntry);
      return { ok: true };
    });
  }
  async assertStreamExists(): Promise<void> {}
}

const clock = { now: () => 0, sleep: async () => undefined };
const settings = { maxAttempts: 50, baseDelayMs: 1, maxRecordBytes: 1024 * 1024, initialRatePerSecond: 1000 };

describe('put batching', () => {
  it('takes at most one record per key, and none after a waiting record of its key', () => {
    const queue = [entry('a', 1), entry('b', 2), entry('a', 3), entry('c', 4), entry('b', 5)];
    expect(takeBatch(queue, { maxRecords: 500, maxBytes: 5 * 1024 * 1024 })).toEqual([0, 1, 3]);
  });

  it('respects the entry and byte limits of PutRecords', () => {
    const queue = Array.from({ length: 10 }, (_, i) => entry(`k${i}`, i, 100));
    expect(takeBatch(queue, { maxRecords: 3, maxBytes: 10_000 })).toEqual([0, 1, 2]);
    expect(takeBatch(queue, { maxRecords: 500, maxBytes: 250 })).toEqual([0, 1]);
  });
});

describe('record putter', () => {
  it('for any pattern of partial failures, every record arrives once and each key keeps its original order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 60 }),
        fc.infiniteStream(
          fc.constantFrom<'ok' | 'throttle' | 'internal' | 'request-throttle'>(
            'ok',
            'ok',
            'ok',
            'throttle',
            'internal',
            'request-throttle',
          ),
        ),
        async (keys, verdicts) => {
          const script = [...verdicts.take(5000)];
          let n = 0;
          const target = new ScriptedTarget(() => script[n++ % script.length]!);
          const entries = keys.map((key, i) => entry(key, i));
          const stats = await new RecordPutter(target, 't', settings, clock).putAll(entries);
          expect(stats.put).toBe(entries.length);
          expect(target.accepted).toHaveLength(entries.length);
          for (const key of new Set(keys)) {
            expect(target.accepted.filter((e) => e.partitionKey === key)).toEqual(
              entries.filter((e) => e.partitionKey === key),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts throttled retries and slows down under throttling', async () => {
    const target = new ScriptedTarget((call) => (call < 3 ? 'throttle' : 'ok'));
    const stats = await new RecordPutter(target, 't', settings, clock).putAll([entry('a', 1), entry('b', 2)]);
    expect(stats).toEqual({ put: 2, throttledRetries: 6 });
  });

  it('given a record that keeps failing, then it fails the replay naming its source position', async () => {
    const target = new ScriptedTarget(() => 'internal');
    await expect(
      new RecordPutter(target, 't', { ...settings, maxAttempts: 3 }, clock).putAll([entry('user-7', 7)]),
    ).rejects.toThrow(
      new ReplayDeliveryError(
        'Record shardId-000000000000 sequence 1007/0 (key user-7) could not be put into t after 3 attempts: InternalFailure: Internal service failure.',
      ),
    );
  });

  it('given a record larger than the target accepts, then it is refused before anything is put', async () => {
    const target = new ScriptedTarget(() => 'ok');
    await expect(
      new RecordPutter(target, 't', { ...settings, maxRecordBytes: 50 }, clock).putAll([
        entry('a', 1, 10),
        entry('b', 2, 100),
      ]),
    ).rejects.toBeInstanceOf(RecordTooLargeError);
    expect(target.accepted).toHaveLength(0);
  });
});
