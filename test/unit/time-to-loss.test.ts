import fc from 'fast-check';
import { exposureFromLag, HOUR_MS, isTimeToLossShort, shardExposure } from '../../src/core/time-to-loss';

const now = Date.UTC(2026, 10, 22, 12);

describe('shardExposure', () => {
  it('gives the full retention when nothing waits to be archived', () => {
    expect(shardExposure(null, 24, now)).toEqual({
      lagMs: 0,
      timeToLossMs: 24 * HOUR_MS,
      timeToLossFraction: 1,
    });
  });

  it('counts down from the arrival of the oldest unarchived record', () => {
    const exposure = shardExposure(now - 18 * HOUR_MS, 24, now);
    expect(exposure.lagMs).toBe(18 * HOUR_MS);
    expect(exposure.timeToLossMs).toBe(6 * HOUR_MS);
    expect(exposure.timeToLossFraction).toBeCloseTo(0.25);
  });

  it('is zero, not negative, once the record is past retention', () => {
    expect(shardExposure(now - 30 * HOUR_MS, 24, now).timeToLossMs).toBe(0);
  });

  it('never reports lag for a record from the future (clock skew)', () => {
    expect(shardExposure(now + 5_000, 24, now)).toMatchObject({ lagMs: 0, timeToLossMs: 24 * HOUR_MS });
  });

  it('rejects a retention that is not positive', () => {
    expect(() => shardExposure(null, 0, now)).toThrow(/retentionHours must be positive/);
  });

  it('lag plus time-to-loss is the retention, for any arrival within it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 8760 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (hours, f) => {
          const arrival = now - Math.floor(f * hours * HOUR_MS);
          const exposure = shardExposure(arrival, hours, now);
          expect(exposure.lagMs + exposure.timeToLossMs).toBe(hours * HOUR_MS);
          expect(exposure.timeToLossFraction).toBeGreaterThanOrEqual(0);
          expect(exposure.timeToLossFraction).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('exposureFromLag treats a zero lag as nothing waiting', () => {
    expect(exposureFromLag(0, 48, now).timeToLossMs).toBe(48 * HOUR_MS);
    expect(exposureFromLag(12 * HOUR_MS, 48, now).timeToLossMs).toBe(36 * HOUR_MS);
  });
});

describe('isTimeToLossShort', () => {
  it('uses 25 % of the retention by default', () => {
    expect(isTimeToLossShort(shardExposure(now - 17 * HOUR_MS, 24, now))).toBe(false);
    expect(isTimeToLossShort(shardExposure(now - 19 * HOUR_MS, 24, now))).toBe(true);
    expect(isTimeToLossShort(shardExposure(now - 10 * HOUR_MS, 24, now), 0.6)).toBe(true);
  });
});
