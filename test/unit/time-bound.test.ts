import { parseTimeBound, timeBoundField } from '../../src/core/time-bound';

describe('time bounds as people type them', () => {
  it('given a date alone, then midnight UTC', () => {
    expect(parseTimeBound('2026-11-21')).toBe(Date.parse('2026-11-21T00:00:00Z'));
    expect(timeBoundField('2026-11-21')).toBe('2026-11-21T00:00:00Z');
  });

  it('given an instant with its zone, then that instant, and the field stays as typed', () => {
    expect(parseTimeBound('2026-11-21T10:00:00Z')).toBe(Date.parse('2026-11-21T10:00:00Z'));
    expect(parseTimeBound('2026-11-21T10:00:00.250+01:00')).toBe(Date.parse('2026-11-21T09:00:00.250Z'));
    expect(timeBoundField('2026-11-21T10:00:00Z')).toBe('2026-11-21T10:00:00Z');
  });

  it('given a time without a zone, or prose, then not a bound (the machine zone would move the window)', () => {
    expect(parseTimeBound('2026-11-21T10:00')).toBeNaN();
    expect(parseTimeBound('Nov 21 2026 10:00')).toBeNaN();
    expect(parseTimeBound('yesterday')).toBeNaN();
  });
});
