/**
 * How close a shard is to losing records: Kinesis deletes a record `retention` after its
 * arrival, so the oldest record not archived yet sets the clock. Pure arithmetic, in ms.
 */
export interface ShardExposure {
  /** Age of the oldest record not archived yet; 0 when nothing is waiting. */
  lagMs: number;
  /** Time until that record is deleted by the stream; the full retention when nothing waits. */
  timeToLossMs: number;
  /** timeToLossMs as a share of the retention, 0–1 (the alarm threshold is a share). */
  timeToLossFraction: number;
}

export const HOUR_MS = 3_600_000;

/** Default alarm threshold: time-to-loss under 25 % of the stream's retention. */
export const DEFAULT_TIME_TO_LOSS_ALARM_FRACTION = 0.25;

/**
 * `oldestUnarchivedArrival` is the arrival time of the oldest record still only in the stream,
 * or null when the archive holds everything the shard has.
 */
export function shardExposure(
  oldestUnarchivedArrival: number | null,
  retentionHours: number,
  now: number,
): ShardExposure {
  if (!(retentionHours > 0)) throw new RangeError(`retentionHours must be positive, got ${retentionHours}`);
  const retentionMs = retentionHours * HOUR_MS;
  if (oldestUnarchivedArrival === null) {
    return { lagMs: 0, timeToLossMs: retentionMs, timeToLossFraction: 1 };
  }
  const lagMs = Math.max(0, now - oldestUnarchivedArrival);
  const timeToLossMs = Math.max(0, retentionMs - lagMs);
  return { lagMs, timeToLossMs, timeToLossFraction: timeToLossMs / retentionMs };
}

/** The exposure when only the lag is known (MillisBehindLatest, or a conservative bound). */
export function exposureFromLag(lagMs: number, retentionHours: number, now: number): ShardExposure {
  return shardExposure(lagMs > 0 ? now - lagMs : null, retentionHours, now);
}

export function isTimeToLossShort(
  exposure: ShardExposure,
  threshold: number = DEFAULT_TIME_TO_LOSS_ALARM_FRACTION,
): boolean {
  return exposure.timeToLossFraction < threshold;
}
