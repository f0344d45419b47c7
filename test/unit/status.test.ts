import { formatStatus, type StatusReport } from '../../src/cli/commands/status';
import { estimateUnarchived, formatEstimate } from '../../src/core/unarchived-estimate';
import type { ShardStatus } from '../../src/status/collect-status';

const now = Date.UTC(2026, 10, 22, 12);

describe('estimateUnarchived', () => {
  it('is exact when the probe reached the tip', () => {
    expect(
      estimateUnarchived({
        arrivals: [now - 5_000, now - 1_000],
        limit: 1000,
        millisBehindLatest: 0,
        more: true,
        now,
      }),
    ).toEqual({
      count: 2,
      kind: 'exact',
      oldestArrival: now - 5_000,
    });
  });

  it('is exact for a closed shard read to its end, whatever the lag figure', () => {
    expect(
      estimateUnarchived({ arrivals: [1, 2, 3], limit: 3, millisBehindLatest: 9_000, more: false, now }).kind,
    ).toBe('exact');
  });

  it('extrapolates at the observed rate when the probe stopped behind the tip', () => {
    // 100 records over 10 s, 60 s still behind: about 600 more.
    const arrivals = Array.from({ length: 100 }, (_, i) => now - 70_000 + i * 101);
    const estimate = estimateUnarchived({
      arrivals,
      limit: 100,
      millisBehindLatest: 60_000,
      more: true,
      now,
    });
    expect(estimate.kind).toBe('estimate');
    expect(estimate.count).toBeGreaterThan(600);
    expect(estimate.count).toBeLessThan(720);
    expect(formatEstimate(estimate)).toBe(`~${estimate.count}`);
  });

  it('is a lower bound for a full page without a lag figure', () => {
    const estimate = estimateUnarchived({
      arrivals: [1, 2],
      limit: 2,
      millisBehindLatest: 0,
      more: true,
      now,
    });
    expect(estimate).toMatchObject({ count: 2, kind: 'at-least' });
    expect(formatEstimate(estimate)).toBe('≥2');
  });

  it('dates the oldest record from the lag when an empty page comes back far behind the tip', () => {
    expect(
      estimateUnarchived({ arrivals: [], limit: 10, millisBehindLatest: 3_600_000, more: true, now }),
    ).toEqual({
      count: 0,
      kind: 'at-least',
      oldestArrival: now - 3_600_000,
    });
  });

  it('is nothing at all at the tip', () => {
    expect(estimateUnarchived({ arrivals: [], limit: 10, millisBehindLatest: 0, more: true, now })).toEqual({
      count: 0,
      kind: 'exact',
      oldestArrival: null,
    });
  });
});

describe('formatStatus', () => {
  const shard = (
    shardId: string,
    timeToLossSeconds: number,
    timeToLossShort: boolean,
    lease: ShardStatus['lease'] = null,
  ) => ({
    shardId,
    state: 'open' as const,
    drained: false,
    checkpointSequenceNumber: '49650000000000000000000000000000000000000000000000000001',
    checkpointUpdatedAt: null,
    pendingBlock: false,
    lease,
    newestArchivedArrival: '2026-11-22T11:00:00.000Z',
    unarchived: { count: 12, kind: 'exact' as const },
    lagSeconds: 86_400 - timeToLossSeconds,
    timeToLossSeconds,
    timeToLossShort,
  });
  const report: StatusReport = {
    generatedAt: new Date(now).toISOString(),
    mode: 'local',
    shortFraction: 0.25,
    lastArchiveRun: {
      runId: 'archive-1',
      finishedAt: '2026-11-22T11:00:00.000Z',
      failedShards: [],
      reads: {
        orders: {
          mode: 'polling',
          share: 0.5,
          rate: { callsPerSecond: 2.5, bytesPerSecond: 1024 * 1024 },
          calls: 40,
          bytes: 10 * 1024 * 1024,
          throttled: 2,
          busiestShard: {
            // A shard the table does not list (closed, drained since): the line names it.
            shardId: 'shardId-000000000009',
            callsPerSecond: 2,
            bytesPerSecond: 512 * 1024,
            share: 0.4,
          },
        },
      },
    },
    problems: [],
    streams: [
      {
        stream: 'orders',
        retentionHours: 24,
        archiveMode: 'ALL',
        unarchived: { count: 24, kind: 'exact' },
        lagSeconds: 72_000,
        timeToLossSeconds: 14_400,
        timeToLossShort: true,
        newestArchivedArrival: '2026-11-22T11:00:00.000Z',
        shards: [shard('shardId-000000000000', 80_000, false), shard('shardId-000000000001', 14_400, true)],
      },
    ],
  };

  it('marks the shards and streams whose time to loss is short', () => {
    const lines = formatStatus(report, false).split('\n');
    expect(lines[0]).toMatch(/^! orders .*time to loss 4\.0 h/);
    expect(lines.find((line) => line.includes('shardId-000000000001'))).toMatch(/^! /);
    expect(lines.find((line) => line.includes('shardId-000000000000'))).toMatch(/^ {2}shardId/);
  });

  it('given shards held by another execution, or whose holder died, then the state says so', () => {
    const held = {
      ...report,
      streams: [
        {
          ...report.streams[0]!,
          shards: [
            shard('shardId-000000000000', 80_000, false, {
              holder: 'archive-orders-1',
              expiresAt: '2026-11-22T12:20:00.000Z',
              live: true,
            }),
            shard('shardId-000000000001', 80_000, false, {
              holder: 'archive-dead',
              expiresAt: '2026-11-22T09:00:00.000Z',
              live: false,
            }),
          ],
        },
      ],
    };
    const lines = formatStatus(held, false).split('\n');
    expect(lines.find((line) => line.includes('shardId-000000000000'))).toContain(
      'open, held by archive-orders-1 until 2026-11-22T12:20:00.000Z',
    );
    expect(lines.find((line) => line.includes('shardId-000000000001'))).toContain(
      'lease of archive-dead expired (the next run takes over)',
    );
  });

  it('given an open gap on one shard and an acknowledged one on another, then both are shown, the open one marked', () => {
    const gaps = {
      ...report,
      streams: [
        {
          ...report.streams[0]!,
          shards: [
            {
              ...shard('shardId-000000000000', 80_000, false),
              openGap: {
                from: '10',
                fromArchived: true,
                to: '40',
                firstDetected: '2026-11-22T10:00:00.000Z',
                lastSeen: '2026-11-22T11:00:00.000Z',
              },
            },
            shard('shardId-000000000001', 80_000, false),
          ],
          acknowledgedGaps: [
            {
              stream: 'orders',
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
        },
      ],
    };
    const lines = formatStatus(gaps, false).split('\n');
    expect(
      lines.find((line) => line.includes('shardId-000000000000') && line.includes('open data gap')),
    ).toBeDefined();
    expect(lines).toContain(
      '! shardId-000000000000: open data gap, records after 10, before 40 expired unarchived ' +
        '(first detected 2026-11-22T10:00:00.000Z, last seen 2026-11-22T11:00:00.000Z); see `reservoir gaps`',
    );
    expect(lines).toContain(
      '  shardId-000000000001: acknowledged data gap, records from 5, before 9 are in no archive ' +
        '(acknowledged 2026-11-20T12:00:00.000Z by ops: outage)',
    );
  });

  it('given the last run read the stream, then the rate it may use and the share it used are shown', () => {
    expect(formatStatus(report, false).split('\n')).toContain(
      '  read (last run): polling at 2.5 call/s, 1.0 MiB/s per shard (share 0.5); ' +
        'busiest shard shardId-000000000009: 2 calls/s, 512.0 KiB/s, 40 % of its limits; 2 throttled',
    );
  });

  it('colours them red on a terminal', () => {
    const text = formatStatus(report, true);
    expect(text.split('\n').find((line) => line.includes('shardId-000000000001'))).toContain('\u001b[1;31m');
    expect(text.split('\n').find((line) => line.includes('shardId-000000000000'))).not.toContain('\u001b[');
  });
});
