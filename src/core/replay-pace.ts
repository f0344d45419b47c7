/**
 * Paced replays: records put at their original inter-arrival times divided by a speedup, or no
 * faster than a rate. Every work item (a Lambda of its own) follows one schedule that PlanReplay
 * fixes once per execution (`pace.json`): each record's due time is derived from its arrival time,
 * so items need not talk to each other to stay in step.
 */

/** The request field `pace`: exactly one of the two (schemas/replay-request.schema.json). */
export type ReplayPace = { speedup: number } | { recordsPerSecond: number };

/** The items of a replay that run at once: the replay ASL's ReplayItems `MaxConcurrency`. */
export const REPLAY_MAX_CONCURRENCY = 40;

/** The schedule shared by a paced replay's work items (`runs/replay/{id}/pace.json`). */
export interface PaceSchedule {
  /** Epoch ms at which the record that arrived at `originArrival` is due. */
  startAt: number;
  /** Arrival time (epoch ms) the schedule counts from: the replay's first record in bounds. */
  originArrival: number;
  /** `pace.speedup`: a record is due at startAt + (arrival − originArrival) / speedup. */
  speedup?: number;
  /**
   * `pace.recordsPerSecond` split evenly across the items that run at once, so their sum never
   * exceeds the cap (an item does not speed up when others finish).
   */
  itemRecordsPerSecond?: number;
}

/** Records a worker puts before their due time at most: puts go in batches, not one per timer. */
export const PACE_TICK_MS = 100;

/**
 * The schedule of an execution. `resumeArrival` is where the replay stands when it is run again
 * under the same id (the earliest arrival not yet put by an unfinished item): the schedule is
 * shifted so that record is due now, instead of everything before "now" rushing out at once.
 */
export function paceSchedule(
  pace: ReplayPace,
  input: { now: number; originArrival: number; items: number; resumeArrival?: number | null },
): PaceSchedule {
  const resumeOffset = Math.max(0, (input.resumeArrival ?? input.originArrival) - input.originArrival);
  if ('speedup' in pace) {
    return {
      startAt: Math.round(input.now - resumeOffset / pace.speedup),
      originArrival: input.originArrival,
      speedup: pace.speedup,
    };
  }
  const concurrent = Math.max(1, Math.min(input.items, REPLAY_MAX_CONCURRENCY));
  return {
    startAt: input.now,
    originArrival: input.originArrival,
    itemRecordsPerSecond: pace.recordsPerSecond / concurrent,
  };
}

/** When a record that arrived at `arrival` is due by the speedup alone (no rate cap). */
export function speedupDue(schedule: PaceSchedule, arrival: number): number {
  if (!schedule.speedup) return schedule.startAt;
  return schedule.startAt + (arrival - schedule.originArrival) / schedule.speedup;
}

/**
 * One work item's gate: when each of its records may be put. `due` asks without taking a slot;
 * `take` commits the record (the rate cap's next slot moves on). Pure: the caller owns the clock.
 */
export class PaceGate {
  private nextSlot = 0;

  constructor(private readonly schedule: PaceSchedule) {}

  due(arrival: number, now: number): number {
    const bySpeedup = speedupDue(this.schedule, arrival);
    if (!this.schedule.itemRecordsPerSecond) return bySpeedup;
    return Math.max(bySpeedup, this.nextSlot || now);
  }

  take(due: number): void {
    if (this.schedule.itemRecordsPerSecond) this.nextSlot = due + 1000 / this.schedule.itemRecordsPerSecond;
  }
}

/** What a worker does with its next record, given its due time, the clock and its deadline. */
export type PaceDecision =
  | { action: 'put' }
  /** Put what is pending, sleep `ms`, then ask again. */
  | { action: 'wait'; ms: number }
  /** Due after the invocation's deadline: put what is pending, save the resume point, return. */
  | { action: 'yield'; ms: number };

export function paceDecision(due: number, now: number, deadline: number): PaceDecision {
  if (due <= now + PACE_TICK_MS) return { action: 'put' };
  if (due > deadline) return { action: 'yield', ms: Math.max(0, deadline - now) };
  return { action: 'wait', ms: due - now };
}
