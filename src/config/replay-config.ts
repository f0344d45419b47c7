import { normalizePrefix } from '../core/layout';
import { envInt, envList, envString } from './env';

/** Everything the replay handlers read from the environment, read once per process. */
export interface ReplayConfig {
  bucket: string;
  prefix: string;
  /** Allow-list of target streams (`*` wildcards); empty: streams that have an archive here. */
  replayTargets: string[];
  itemsPerPage: number;
  flushRecords: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxRecordBytes: number;
  initialRatePerSecond: number;
  getRecordsLimit: number;
  throttleAttempts: number;
  budgetMs: number;
  safetyMarginMs: number;
}

export function loadReplayConfig(): ReplayConfig {
  return {
    bucket: envString('RESERVOIR_BUCKET', 'reservoir-archive'),
    prefix: normalizePrefix(envString('RESERVOIR_PREFIX', '')),
    replayTargets: envList('RESERVOIR_REPLAY_TARGETS'),
    itemsPerPage: envInt('RESERVOIR_REPLAY_ITEMS_PER_PAGE', 500, 1),
    flushRecords: envInt('RESERVOIR_REPLAY_FLUSH_RECORDS', 2_000, 1),
    maxAttempts: envInt('RESERVOIR_PUT_ATTEMPTS', 15, 1),
    baseDelayMs: envInt('RESERVOIR_PUT_BASE_DELAY_MS', 100),
    maxRecordBytes: envInt('RESERVOIR_MAX_RECORD_KIB', 1024, 1) * 1024,
    initialRatePerSecond: envInt('RESERVOIR_REPLAY_INITIAL_RATE', 1_000, 1),
    getRecordsLimit: envInt('RESERVOIR_GETRECORDS_LIMIT', 10_000, 1),
    throttleAttempts: envInt('RESERVOIR_THROTTLE_ATTEMPTS', 6, 1),
    budgetMs: envInt('RESERVOIR_SHARD_BUDGET_SECONDS', 600, 1) * 1000,
    safetyMarginMs: envInt('RESERVOIR_SHARD_SAFETY_MARGIN_SECONDS', 60) * 1000,
  };
}
