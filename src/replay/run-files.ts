import { runPrefix } from '../core/layout';

/**
 * Files of one replay, under {prefix}runs/replay/{replayId}/. Keyed by the replay id, not the
 * execution: re-running the same replayId finds its plan and the completion markers of the
 * work items already done, and finishes the rest.
 */
export function replayRunFiles(prefix: string, replayId: string) {
  const base = runPrefix(prefix, 'replay', replayId);
  return {
    base,
    request: `${base}request.json`,
    plan: `${base}plan.json`,
    page: (index: number) => `${base}pages/${String(index).padStart(5, '0')}.json`,
    item: (itemId: string) => `${base}items/${itemId}.json`,
    progressPrefix: `${base}progress/`,
    progress: (itemId: string) => `${base}progress/${itemId}.json`,
    failure: (itemId: string) => `${base}failures/${itemId}.json`,
    /** Where a compacted replay's compaction writes its result (see compactionRequestFor). */
    compacted: `${base}compacted/`,
    summary: `${base}summary.json`,
    /** A paced replay's schedule inputs, written by each execution's PlanReplay (src/core/replay-pace.ts). */
    pace: `${base}pace.json`,
    /** When this execution's schedule starts: created by the first work item to run (conditional write). */
    paceStart: `${base}pace-start.json`,
    /** Why and when `reservoir replay --stop` stopped an execution of this replay. */
    stopped: `${base}stopped.json`,
  };
}

/** `stopped.json`: `reservoir replay --stop` writes a cause; a resumed run clears it (cause null). */
export interface ReplayStopMarker {
  cause: string | null;
  /**
   * Which run of the replay id is current (0 first, +1 each time a stopped replay is run again).
   * An item of an earlier run that sees a later number ends without saving its progress: the
   * later run's item owns it now.
   */
  run?: number;
  stoppedAt?: string;
  resumedAt?: string;
  executionArn?: string | null;
}
