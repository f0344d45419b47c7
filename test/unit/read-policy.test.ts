import { readPolicyFor, shareOfRate } from '../../src/core/read-policy';

const DEFAULTS = {
  defaultRate: { callsPerSecond: 1, bytesPerSecond: 1024 * 1024 },
  shares: { orders: 0.25 },
  efoStreams: ['payments'],
};

describe('read policy of a stream', () => {
  it('given no tag and no setting, then it polls at the default rate', () => {
    expect(readPolicyFor('clicks', {}, DEFAULTS)).toEqual({
      policy: { mode: 'polling', rate: DEFAULTS.defaultRate, share: null },
      problems: [],
    });
  });

  it('given a read-share tag, then it polls at that share of the shard limits (5 calls/s, 2 MiB/s)', () => {
    expect(readPolicyFor('clicks', { 'reservoir:read-share': '0.5' }, DEFAULTS).policy).toEqual({
      mode: 'polling',
      rate: { callsPerSecond: 2.5, bytesPerSecond: 1024 * 1024 },
      share: 0.5,
    });
  });

  it('given the deployment sets a share, then it wins over the tag', () => {
    expect(readPolicyFor('orders', { 'reservoir:read-share': '1' }, DEFAULTS).policy).toMatchObject({
      share: 0.25,
      rate: { callsPerSecond: 1.25, bytesPerSecond: 512 * 1024 },
    });
  });

  it('given a malformed tag, then it is reported and the default used', () => {
    const { policy, problems } = readPolicyFor(
      'clicks',
      { 'reservoir:read-share': '50%', 'reservoir:read-mode': 'fast' },
      DEFAULTS,
    );
    expect(policy).toEqual({ mode: 'polling', rate: DEFAULTS.defaultRate, share: null });
    expect(problems).toEqual([
      'clicks: tag reservoir:read-mode="fast" is neither efo nor polling; polling',
      'clicks: tag reservoir:read-share="50%" is not a number in (0, 1]; default rate',
    ]);
  });

  it('given the tag or the deployment says efo, then the stream is read with enhanced fan-out', () => {
    expect(readPolicyFor('clicks', { 'reservoir:read-mode': 'EFO' }, DEFAULTS).policy.mode).toBe('efo');
    expect(readPolicyFor('payments', {}, DEFAULTS).policy.mode).toBe('efo');
  });

  it('given what a read used, then its share is the larger of its calls and bytes shares', () => {
    expect(shareOfRate({ calls: 10, bytes: 1024 * 1024, seconds: 10 })).toEqual({
      callsPerSecond: 1,
      bytesPerSecond: 104857.6,
      share: 0.2,
    });
  });
});
