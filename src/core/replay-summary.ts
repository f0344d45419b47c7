export interface ReplayItemOutcome {
  itemId: string;
  done: boolean;
  read: number;
  matched: number;
  put: number;
  throttledRetries: number;
  error?: { name: string; message: string };
}

export interface ReplaySummary {
  replayId: string;
  stream: string;
  target: string;
  format: 'envelope' | 'raw';
  items: number;
  completedItems: number;
  read: number;
  matched: number;
  put: number;
  throttledRetries: number;
  failedItems: { itemId: string; error: { name: string; message: string } }[];
  /** Items failed or left unfinished: the state machine fails the execution when above 0. */
  problemCount: number;
  errorName: string | null;
  failureMessage: string | null;
  summaryKey: string;
}

/** Adds up the work items' completion markers (and failures) of a replay. */
export function summarizeReplay(input: {
  replayId: string;
  stream: string;
  target: string;
  format: 'envelope' | 'raw';
  summaryKey: string;
  outcomes: ReplayItemOutcome[];
}): ReplaySummary {
  const sum = (field: 'read' | 'matched' | 'put' | 'throttledRetries') =>
    input.outcomes.reduce((total, outcome) => total + outcome[field], 0);
  const failed = input.outcomes.filter((o) => o.error).map((o) => ({ itemId: o.itemId, error: o.error! }));
  const unfinished = input.outcomes.filter((o) => !o.done && !o.error);
  const problems = [
    ...failed.map((f) => `${f.itemId}: ${f.error.name}: ${f.error.message}`),
    ...unfinished.map((o) => `${o.itemId}: did not finish`),
  ];
  const names = new Set(failed.map((f) => f.error.name));
  return {
    replayId: input.replayId,
    stream: input.stream,
    target: input.target,
    format: input.format,
    items: input.outcomes.length,
    completedItems: input.outcomes.filter((o) => o.done).length,
    read: sum('read'),
    matched: sum('matched'),
    put: sum('put'),
    throttledRetries: sum('throttledRetries'),
    failedItems: failed,
    problemCount: problems.length,
    errorName: problems.length === 0 ? null : names.size === 1 ? [...names][0]! : 'ReplayFailedError',
    failureMessage:
      problems.length === 0
        ? null
        : `${problems.length} work item(s) failed: ${problems.join(' | ')}`.slice(0, 30_000),
    summaryKey: input.summaryKey,
  };
}
