import type { ArchiveSummary } from '../../src/core/archive-summary';
import type { ShardStatus, StreamStatus } from '../../src/status/collect-status';
import { healthProblems, lastArchiveRun } from '../../src/status/health';

const now = Date.parse('2026-11-22T12:00:00Z');
const HOUR = 3_600_000;

function shard(overrides: Partial<ShardStatus> = {}): ShardStatus {
  return {
    shardId: 'shardId-000000000000',
    state: 'open',
    drained: false,
    checkpointSequenceNumber: '1',
    checkpointUpdatedAt: null,
    pendingBlock: false,
    lease: null,
    newestArchivedArrival: null,
    unarchived: { count: 0, kind: 'exact' },
    lagSeconds: 0,
    timeToLossSeconds: 80_000,
    timeToLossShort: false,
    ...overrides,
  };
}

function stream(shards: ShardStatus[], overrides: Partial<StreamStatus> = {}): StreamStatus {
  return {
    stream: 'orders',
    retentionHours: 24,
    archiveMode: 'ALL',
    unarchived: { count: 0, kind: 'exact' },
    lagSeconds: 0,
    timeToLossSeconds: 80_000,
    timeToLossShort: false,
    newestArchivedArrival: null,
    shards,
    ...overrides,
  };
}

const recentRun = {
  runId: 'archive-1',
  finishedAt: new Date(now - 30 * 60_000).toISOString(),
  failedShards: [],
  reads: {},
};

describe('status health', () => {
  it('given healthy shards and a recent run, then there is no problem', () => {
    expect(
      healthProblems({ streams: [stream([shard()])], lastRun: recentRun, now, maxRunAgeMs: 2 * HOUR }),
    ).toEqual([]);
  });

  it('given an open data gap, then it is a problem naming the range and how to resolve it; an acknowledged one is not', () => {
    const openGap = {
      from: '10',
      fromArchived: true,
      to: '40',
      firstDetected: '2026-11-22T10:00:00.000Z',
      lastSeen: '2026-11-22T11:00:00.000Z',
    };
    expect(
      healthProblems({
        streams: [stream([shard({ openGap })])],
        lastRun: recentRun,
        now,
        maxRunAgeMs: 2 * HOUR,
      }),
    ).toEqual([
      'orders/shardId-000000000000: open data gap (records after 10, before 40 expired unarchived; first detected ' +
        '2026-11-22T10:00:00.000Z, last seen 2026-11-22T11:00:00.000Z): every run fails the shard until `reservoir gaps acknowledge`',
    ]);
    const acknowledged = {
      ...openGap,
      stream: 'orders',
      shardId: 'shardId-000000000000',
      acknowledgedAt: '2026-11-22T11:30:00.000Z',
      acknowledgedBy: null,
      note: null,
    };
    expect(
      healthProblems({
        streams: [stream([shard()], { acknowledgedGaps: [acknowledged] })],
        lastRun: recentRun,
        now,
        maxRunAgeMs: 2 * HOUR,
      }),
    ).toEqual([]);
  });

  it('given each kind of trouble, then each is one line naming the stream and shard', () => {
    const problems = healthProblems({
      streams: [
        stream(
          [
            shard({ shardId: 's0', probeError: 'AwsRequestRejectedError: GetShardIterator: AccessDenied' }),
            shard({
              shardId: 's1',
              lease: { holder: 'archive-dead', expiresAt: '2026-11-22T09:00:00.000Z', live: false },
            }),
            shard({ shardId: 's2', timeToLossShort: true, timeToLossSeconds: 3_000 }),
            shard({
              shardId: 's3',
              lease: { holder: 'archive-now', expiresAt: '2026-11-22T12:10:00.000Z', live: true },
            }),
          ],
          { recreated: { createdAt: '2026-11-22T10:00:00.000Z' } },
        ),
      ],
      lastRun: {
        runId: 'archive-old',
        finishedAt: new Date(now - 5 * HOUR).toISOString(),
        failedShards: [{ stream: 'orders', shardId: 's4', error: 'DataGapError: records expired' }],
        reads: {},
      },
      now,
      maxRunAgeMs: 2 * HOUR,
    });
    expect(problems).toEqual([
      expect.stringMatching(/^orders: the stream was recreated at 2026-11-22T10:00:00.000Z/),
      expect.stringMatching(/^orders\/s0: unreadable \(AwsRequestRejectedError/),
      expect.stringMatching(/^orders\/s1: held by archive-dead, whose lease expired/),
      expect.stringMatching(/^orders\/s2: 3000 s until Kinesis deletes/),
      expect.stringMatching(/^no archive run finished for 300 min \(last: archive-old/),
      'orders/s4: failed in archive-old: DataGapError: records expired',
    ]);
  });

  it('given streams and no run ever, then that is a problem', () => {
    expect(healthProblems({ streams: [stream([shard()])], lastRun: null, now, maxRunAgeMs: HOUR })).toEqual([
      'no archive run has finished yet',
    ]);
  });

  it('reads the failed shards and the read reports of the newest run summary', () => {
    const READ = {
      mode: 'polling',
      share: null,
      rate: { callsPerSecond: 1, bytesPerSecond: 1024 * 1024 },
      calls: 3,
      bytes: 100,
      throttled: 0,
      busiestShard: { shardId: 's0', callsPerSecond: 1, bytesPerSecond: 100, share: 0.2 },
    };
    const summary = {
      runId: 'archive-2',
      finishedAt: '2026-11-22T11:00:00.000Z',
      shards: [
        { stream: 'orders', shardId: 's0', status: 'caught-up' },
        {
          stream: 'orders',
          shardId: 's1',
          status: 'failed',
          error: { name: 'DataGapError', message: 'gap' },
        },
        { stream: 'orders', shardId: 's2', status: 'held', heldBy: 'archive-1' },
      ],
      streams: [{ stream: 'orders', read: READ }, { stream: 'payments' }],
    } as unknown as ArchiveSummary;
    expect(lastArchiveRun(summary)).toEqual({
      runId: 'archive-2',
      finishedAt: '2026-11-22T11:00:00.000Z',
      failedShards: [{ stream: 'orders', shardId: 's1', error: 'DataGapError: gap' }],
      // Streams of runs planned before read policies have no read report.
      reads: { orders: READ },
    });
  });
});
