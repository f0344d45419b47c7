import { compactSummary, summarizeArchiveRun, type ShardRunResult } from '../../src/core/archive-summary';

const planned = [
  { stream: 'a', shardId: 's0', baseline: { records: 10, objects: 1, bytes: 100 } },
  { stream: 'a', shardId: 's1', baseline: { records: 0, objects: 0, bytes: 0 } },
  { stream: 'b', shardId: 's0', baseline: { records: 0, objects: 0, bytes: 0 } },
];

function summarize(results: ShardRunResult[], missingStreams: string[] = [], retention?: unknown) {
  return summarizeArchiveRun({
    retention,
    runId: 'run-1',
    summaryKey: 'runs/archive/run-1/summary.json',
    planned,
    totalsNow: new Map([
      ['a/s0', { records: 15, objects: 2, bytes: 150 }],
      ['a/s1', { records: 7, objects: 1, bytes: 70 }],
    ]),
    results: new Map(results.map((r) => [`${r.stream}/${r.shardId}`, r])),
    missingStreams,
    now: new Date('2024-11-21T10:00:00Z'),
  });
}

describe('archive summary', () => {
  it('counts what the run added to each checkpoint, per shard and per stream', () => {
    const summary = summarize([
      {
        stream: 'a',
        shardId: 's0',
        status: 'caught-up',
        lagMs: 0,
        usage: { invocations: 1, gbSeconds: 0.5 },
      },
      {
        stream: 'a',
        shardId: 's1',
        status: 'budget-exhausted',
        lagMs: 5000,
        usage: { invocations: 3, gbSeconds: 2.25 },
      },
      // Recorded without usage (before it was tracked): counts as none.
      { stream: 'b', shardId: 's0', status: 'caught-up', lagMs: 0 },
    ]);
    expect(summary.totals).toEqual({ records: 12, objects: 2, bytes: 120 });
    expect(summary.streams).toEqual([
      {
        stream: 'a',
        shards: 2,
        failedShards: 0,
        heldShards: 0,
        records: 12,
        objects: 2,
        bytes: 120,
        lagMs: 5000,
        usage: { invocations: 4, gbSeconds: 2.75 },
      },
      {
        stream: 'b',
        shards: 1,
        failedShards: 0,
        heldShards: 0,
        records: 0,
        objects: 0,
        bytes: 0,
        lagMs: 0,
        usage: { invocations: 0, gbSeconds: 0 },
      },
    ]);
    expect(summary.errorName).toBeNull();
  });

  it('given the plan’s read policies and the shards’ read usage, then each stream reports its mode, share and busiest shard, and malformed read tags are warnings', () => {
    const rate = { callsPerSecond: 2.5, bytesPerSecond: 1024 * 1024 };
    const summary = summarizeArchiveRun({
      runId: 'run-1',
      summaryKey: 'runs/archive/run-1/summary.json',
      planned,
      totalsNow: new Map(),
      results: new Map(
        [
          {
            stream: 'a',
            shardId: 's0',
            status: 'caught-up' as const,
            lagMs: 0,
            // Two invocations: their reads add up.
            usage: {
              invocations: 2,
              gbSeconds: 1,
              reads: { calls: 20, bytes: 2 * 1024 * 1024, throttled: 1, seconds: 10 },
            },
          },
          {
            stream: 'a',
            shardId: 's1',
            status: 'caught-up' as const,
            lagMs: 0,
            usage: {
              invocations: 1,
              gbSeconds: 1,
              reads: { calls: 2, bytes: 100, throttled: 0, seconds: 2 },
            },
          },
        ].map((r) => [`${r.stream}/${r.shardId}`, r]),
      ),
      missingStreams: [],
      reads: {
        a: { mode: 'polling', rate, share: 0.5 },
        b: { mode: 'efo', rate, share: null },
      },
      readProblems: ['b: tag reservoir:read-share="lots" is not a number in (0, 1]; default rate'],
      now: new Date('2024-11-21T10:00:00Z'),
    });
    expect(summary.streams.map((s) => [s.stream, s.read])).toEqual([
      [
        'a',
        {
          mode: 'polling',
          share: 0.5,
          rate,
          calls: 22,
          bytes: 2 * 1024 * 1024 + 100,
          throttled: 1,
          // 2 calls/s of 5 (0.4) beats 0.2 MiB/s of 2 (0.1).
          busiestShard: { shardId: 's0', callsPerSecond: 2, bytesPerSecond: 0.2 * 1024 * 1024, share: 0.4 },
        },
      ],
      ['b', { mode: 'efo', share: null, rate, calls: 0, bytes: 0, throttled: 0, busiestShard: null }],
    ]);
    expect(summary.warnings).toEqual([
      'read: b: tag reservoir:read-share="lots" is not a number in (0, 1]; default rate',
    ]);
  });

  it('given a gap on one shard, then the run fails with DataGapError naming it, and the others still count', () => {
    const summary = summarize([
      { stream: 'a', shardId: 's0', status: 'caught-up', lagMs: 0 },
      {
        stream: 'a',
        shardId: 's1',
        status: 'failed',
        lagMs: null,
        error: { name: 'DataGapError', message: 'gap on a/s1' },
      },
    ]);
    expect(summary).toMatchObject({ errorName: 'DataGapError', dataGaps: 1, failedShards: 2 });
    expect(summary.failureMessage).toContain('a/s1: DataGapError: gap on a/s1');
    expect(summary.failureMessage).toContain('b/s0: did not run');
    expect(summary.totals.records).toBe(12);
  });

  it('given a shard another live execution holds, then it is reported held by that execution, counts none of its records, and the run stays green', () => {
    const summary = summarize([
      { stream: 'a', shardId: 's0', status: 'held', lagMs: null, heldBy: 'archive-orders-1' },
      { stream: 'a', shardId: 's1', status: 'caught-up', lagMs: 0 },
      { stream: 'b', shardId: 's0', status: 'caught-up', lagMs: 0 },
    ]);
    expect(summary).toMatchObject({ errorName: null, problemCount: 0, failedShards: 0, heldShards: 1 });
    expect(summary.shards[0]).toMatchObject({ status: 'held', heldBy: 'archive-orders-1', records: 0 });
    expect(summary.streams[0]).toMatchObject({ stream: 'a', heldShards: 1, records: 7 });
  });

  it('given a listed stream that does not exist, then the run fails with StreamNotFoundError', () => {
    const summary = summarize(
      planned.map((p) => ({ stream: p.stream, shardId: p.shardId, status: 'caught-up' as const, lagMs: 0 })),
      ['gone'],
    );
    expect(summary.errorName).toBe('StreamNotFoundError');
  });

  it('keeps the execution output small: past the bound only failed shard rows are returned', () => {
    const summary = summarize([
      { stream: 'a', shardId: 's0', status: 'caught-up', lagMs: 0 },
      { stream: 'a', shardId: 's1', status: 'failed', lagMs: null, error: { name: 'X', message: 'y' } },
      { stream: 'b', shardId: 's0', status: 'caught-up', lagMs: 0 },
    ]);
    const compact = compactSummary(summary, 2);
    expect(compact.shards.map((s) => s.shardId)).toEqual(['s1']);
    expect(compact.shardRowsOmitted).toBe(2);
    expect(compactSummary(summary, 10)).toBe(summary);
  });

  describe('retention', () => {
    const allCaughtUp = planned.map((p) => ({
      stream: p.stream,
      shardId: p.shardId,
      status: 'caught-up' as const,
      lagMs: 0,
    }));

    it('given ApplyRetention reported malformed tags, then they are warnings and the run does not fail', () => {
      const summary = summarize(allCaughtUp, [], {
        changed: true,
        streamsWithRules: ['a'],
        problems: ['stream b: tag reservoir:retention-days must be a whole number of days >= 1, got "x"'],
      });

      expect(summary.retention).toEqual({
        applied: true,
        changed: true,
        streamsWithRules: ['a'],
        problems: ['stream b: tag reservoir:retention-days must be a whole number of days >= 1, got "x"'],
        error: null,
      });
      expect(summary.warnings).toEqual([
        'retention: stream b: tag reservoir:retention-days must be a whole number of days >= 1, got "x"',
      ]);
      expect(summary).toMatchObject({ problemCount: 0, errorName: null });
    });

    it('given ApplyRetention failed (its Catch put {Error, Cause}), then the summary says so and the run does not fail', () => {
      const cause = JSON.stringify({ errorType: 'AccessDenied', errorMessage: 'Access Denied', trace: [] });
      const summary = summarize(allCaughtUp, [], { Error: 'AccessDenied', Cause: cause });

      expect(summary.retention).toMatchObject({
        applied: false,
        error: { name: 'AccessDenied', message: 'Access Denied' },
      });
      expect(summary.warnings).toEqual([
        'retention: lifecycle rules not applied (AccessDenied: Access Denied); the archive ran; the next run tries again',
      ]);
      expect(summary.problemCount).toBe(0);
    });

    it('given no retention step (an older execution), then no retention and no warning', () => {
      const summary = summarize(allCaughtUp);

      expect(summary.retention).toBeNull();
      expect(summary.warnings).toEqual([]);
    });
  });
});
