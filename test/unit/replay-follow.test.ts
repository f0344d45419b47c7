import { followLines } from '../../src/cli/replay-follow';
import { progressRate, type ReplayProgressReport } from '../../src/replay/replay-progress';

const report: ReplayProgressReport = {
  replayId: 'r1',
  planned: true,
  items: 4,
  itemsDone: 1,
  estimatedRecords: 10_000,
  read: 2_600,
  put: 2_500,
  throttledRetries: 12,
};

describe('reservoir replay --follow: rate, ETA and bars', () => {
  it('given two samples, then the rate is records put per second between them and the ETA the estimate left at that rate', () => {
    expect(progressRate({ at: 0, put: 500 }, { at: 10_000, put: 2_500 }, 10_000)).toEqual({
      perSecond: 200,
      etaMs: 37_500,
    });
  });

  it('given nothing put yet, then there is no ETA rather than a wrong one', () => {
    expect(progressRate({ at: 0, put: 0 }, { at: 10_000, put: 0 }, 10_000)).toEqual({
      perSecond: 0,
      etaMs: null,
    });
    expect(progressRate({ at: 0, put: 0 }, { at: 0, put: 0 }, 0).etaMs).toBe(0);
  });

  it('given a report, then the bars show items done, records put, the rate, throttled retries and the ETA', () => {
    const lines = followLines(report, { perSecond: 200, etaMs: 37_500 }, 'RUNNING');
    expect(lines[0]).toBe('replay r1: running');
    expect(lines[1]).toContain('items   [########......................] 1 / ~4');
    expect(lines[2]).toContain(
      'records [########......................] 2500 / ~10000 put, 200/s, throttled retries 12, ETA 38 s',
    );
  });

  it('given a replay not planned yet, then it says so', () => {
    expect(followLines({ ...report, planned: false }, { perSecond: 0, etaMs: null }, 'RUNNING')).toEqual([
      'replay r1: running, planning',
    ]);
  });
});
