import { invocationDeadline, loadBaseConfig } from '../../src/config/base-config';
import { loadArchiveConfig } from '../../src/config/archive-config';
import { ConfigError } from '../../src/core/errors';

describe('the config every function reads', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('given no RESERVOIR_BUCKET, then loading fails in one line naming it (no default bucket outside local runs)', () => {
    delete process.env.RESERVOIR_BUCKET;
    expect(() => loadBaseConfig()).toThrow(
      new ConfigError('Environment variable RESERVOIR_BUCKET is required'),
    );
  });

  it('given a bucket and a prefix, then the prefix ends with /', () => {
    process.env.RESERVOIR_BUCKET = 'b';
    process.env.RESERVOIR_PREFIX = 'kinesis';
    expect(loadBaseConfig()).toEqual({ bucket: 'b', prefix: 'kinesis/' });
  });

  it('given a lease no longer than an invocation, then the archive config refuses it', () => {
    process.env.RESERVOIR_BUCKET = 'b';
    process.env.RESERVOIR_INVOCATION_BUDGET_SECONDS = '600';
    process.env.RESERVOIR_SHARD_LEASE_SECONDS = '660';
    expect(() => loadArchiveConfig()).toThrow(/RESERVOIR_SHARD_LEASE_SECONDS \(660\) must be longer than/);
  });
});

describe('invocationDeadline', () => {
  const budget = { budgetMs: 600_000, safetyMarginMs: 60_000 };

  it('given plenty of Lambda time, then the budget', () => {
    expect(invocationDeadline(budget, 900_000, 0)).toBe(600_000);
  });

  it('given less Lambda time than the budget, then what is left less the margin', () => {
    expect(invocationDeadline(budget, 300_000, 0)).toBe(240_000);
  });

  it('given almost no time, then still a second, so every invocation progresses', () => {
    expect(invocationDeadline(budget, 30_000, 5)).toBe(1_005);
  });
});
