/**
 * How many records of a shard are still only in the stream, from one probe read after the
 * checkpoint. Kinesis gives no count, so it is exact only when the probe reached the tip.
 */
export type EstimateKind = 'exact' | 'estimate' | 'at-least';

export interface UnarchivedEstimate {
  count: number;
  kind: EstimateKind;
  /** Arrival of the oldest unarchived record (the time-to-loss clock); null when none waits. */
  oldestArrival: number | null;
}

export interface ProbeRead {
  /** Arrival times of the records the probe returned, oldest first. */
  arrivals: number[];
  /** The probe's record limit. */
  limit: number;
  /** MillisBehindLatest of the last read: how far the probe stopped from the tip. */
  millisBehindLatest: number;
  /** False when the shard is closed and the probe read it to its end. */
  more: boolean;
  now: number;
}

export function estimateUnarchived(probe: ProbeRead): UnarchivedEstimate {
  const count = probe.arrivals.length;
  const first = probe.arrivals[0];
  const last = probe.arrivals[count - 1];
  if (first === undefined || last === undefined) {
    // Nothing returned: at the tip, or (far behind on a sparse shard) an empty page before data.
    if (probe.millisBehindLatest > 0 && probe.more) {
      return { count: 0, kind: 'at-least', oldestArrival: probe.now - probe.millisBehindLatest };
    }
    return { count: 0, kind: 'exact', oldestArrival: null };
  }
  if (!probe.more || (probe.millisBehindLatest === 0 && count < probe.limit)) {
    return { count, kind: 'exact', oldestArrival: first };
  }
  if (probe.millisBehindLatest === 0) {
    // A full page and no lag figure (kinesalite never gives one): only a lower bound.
    return { count, kind: 'at-least', oldestArrival: first };
  }
  // The records still behind arrived at about the rate of those the probe saw.
  const spanMs = Math.max(1_000, last - first);
  const behind = Math.round((count / spanMs) * probe.millisBehindLatest);
  return { count: count + behind, kind: 'estimate', oldestArrival: first };
}

export function formatEstimate(estimate: Pick<UnarchivedEstimate, 'count' | 'kind'>): string {
  if (estimate.kind === 'at-least') return `≥${estimate.count}`;
  if (estimate.kind === 'estimate') return `~${estimate.count}`;
  return String(estimate.count);
}
