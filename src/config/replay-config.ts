import { loadBaseConfig, loadInvocationBudget, type BaseConfig, type InvocationBudget } from './base-config';
import { envInt, envList } from './env';
import { loadReadConfig, type ReadConfig } from './read-config';

/** Everything the replay handlers read from the environment, read once per process. */
export interface ReplayConfig extends BaseConfig, InvocationBudget, ReadConfig {
  /** Allow-list of target streams (`*` wildcards); empty: streams that have an archive here. */
  replayTargets: string[];
  itemsPerPage: number;
  flushRecords: number;
  maxAttempts: number;
  baseDelayMs: number;
  initialRatePerSecond: number;
}

export function loadReplayConfig(): ReplayConfig {
  return {
    ...loadBaseConfig(),
    ...loadInvocationBudget(),
    ...loadReadConfig(),
    ...loadReplayPlanningConfig(),
    flushRecords: envInt('RESERVOIR_REPLAY_FLUSH_RECORDS', 2_000, 1),
    maxAttempts: envInt('RESERVOIR_PUT_ATTEMPTS', 15, 1),
    baseDelayMs: envInt('RESERVOIR_PUT_BASE_DELAY_MS', 100),
    initialRatePerSecond: envInt('RESERVOIR_REPLAY_INITIAL_RATE', 1_000, 1),
  };
}

/** What validating and planning a replay read (also `reservoir replay --plan`, which has no bucket variable). */
export function loadReplayPlanningConfig(): Pick<ReplayConfig, 'replayTargets' | 'itemsPerPage'> {
  return {
    replayTargets: envList('RESERVOIR_REPLAY_TARGETS'),
    itemsPerPage: envInt('RESERVOIR_REPLAY_ITEMS_PER_PAGE', 500, 1),
  };
}
