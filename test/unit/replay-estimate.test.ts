import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PriceTable } from '../../src/core/cost-model';
import {
  estimateReplay,
  replayRunTransitions,
  writeCapacity,
  type ReplayEstimateInput,
} from '../../src/core/replay-estimate';
import { REPLAY_ITEM_MEMORY_MB } from '../../src/replay/plan-report';

const prices = JSON.parse(
  readFileSync(join(__dirname, '../../pricing/us-east-1.json'), 'utf8'),
) as PriceTable;

const base: ReplayEstimateInput = {
  records: 10_000,
  recordBytes: 500,
  items: 2,
  pages: 1,
  target: { mode: 'provisioned', openShards: 2 },
  arrivalSpanMs: 60_000,
  itemMemoryMb: 1024,
  invocationBudgetMs: 600_000,
};

describe('replay plan: capacity, duration and cost', () => {
  it('given a provisioned target, then its capacity is 1,000 records/s and 1 MiB/s per open shard', () => {
    expect(writeCapacity({ mode: 'provisioned', openShards: 3 })).toMatchObject({
      recordsPerSecond: 3000,
      bytesPerSecond: 3 * 1024 * 1024,
    });
  });

  it('given an on-demand target, then its capacity is the documented default of 4 MB/s whatever its shards', () => {
    expect(writeCapacity({ mode: 'on-demand', openShards: 1 })).toMatchObject({
      recordsPerSecond: 4000,
      bytesPerSecond: 4 * 1024 * 1024,
    });
  });

  it('given records and their size, then the duration at capacity is the tighter of the two limits', () => {
    expect(estimateReplay(base, prices).atCapacityMs).toBe(5_000);
    const large = estimateReplay({ ...base, recordBytes: 512 * 1024 }, prices);
    expect(large.atCapacityMs).toBeCloseTo(((10_000 * 512 * 1024) / (2 * 1024 * 1024)) * 1000, 0);
  });

  it('given a pace, then the expected duration is the slower of the pace and the capacity', () => {
    expect(estimateReplay({ ...base, pace: { speedup: 10 } }, prices).atPaceMs).toBe(6_000);
    expect(estimateReplay({ ...base, pace: { speedup: 100 } }, prices).atPaceMs).toBe(5_000);
    expect(estimateReplay({ ...base, pace: { recordsPerSecond: 100 } }, prices).expectedMs).toBe(100_000);
    expect(estimateReplay(base, prices).atPaceMs).toBeNull();
  });

  it('given a provisioned target, then Kinesis bills PUT payload units of 25 KB per record', () => {
    const line = (recordBytes: number) =>
      estimateReplay({ ...base, recordBytes }, prices).lines.find((l) => l.item.startsWith('Kinesis'))!;
    expect(line(500)).toMatchObject({ quantity: 10_000, unit: 'units' });
    expect(line(30 * 1024)).toMatchObject({ quantity: 20_000 });
    expect(line(500).usd).toBeCloseTo((10_000 / 1e6) * 0.014, 10);
  });

  it('given an on-demand target, then Kinesis bills GB in with every record rounded up to 1 KiB', () => {
    const line = estimateReplay(
      { ...base, recordBytes: 1500, target: { mode: 'on-demand', openShards: 4 } },
      prices,
    ).lines.find((l) => l.item.startsWith('Kinesis'))!;
    const gb = (10_000 * 2048) / 1024 ** 3;
    expect(line.usd).toBeCloseTo(gb * 0.08, 10);
  });

  it('given items that work longer than an invocation, then they are invoked again, and each invocation costs two transitions', () => {
    const slow = estimateReplay({ ...base, pace: { recordsPerSecond: 2 } }, prices); // 5,000 s
    expect(slow.invocations).toBe(2 * Math.ceil(5_000_000 / 600_000));
    expect(slow.transitions).toBe(replayRunTransitions(1, 2, slow.invocations));
    expect(replayRunTransitions(1, 2, 2)).toBe(8 + 4 + 4 + 2);
    const compute = slow.lines.find((l) => l.unit === 'GB-s')!;
    expect(compute.quantity).toBeCloseTo(2 * 5_000, 0);
  });

  it('given the package, then the plan prices ReplayItem at the memory serverless.yml gives it', () => {
    const yml = readFileSync(join(__dirname, '../../serverless.yml'), 'utf8');
    const block = /\n {2}replayItem:\n([\s\S]*?)\n {2}\S/.exec(yml)?.[1] ?? '';
    expect(Number(/memorySize: (\d+)/.exec(block)?.[1])).toBe(REPLAY_ITEM_MEMORY_MB);
  });
});
