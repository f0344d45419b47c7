import { normalizePrefix } from '../core/layout';
import { envInt, envString } from './env';

/** What every function reads: the archive bucket and the key prefix. */
export interface BaseConfig {
  /** Required: a missing bucket is an error at load, never a default name (the local runner sets one). */
  bucket: string;
  prefix: string;
}

export function loadBaseConfig(): BaseConfig {
  return {
    bucket: envString('RESERVOIR_BUCKET'),
    prefix: normalizePrefix(envString('RESERVOIR_PREFIX', '')),
  };
}

/** How long one Task invocation works (archive a shard, replay an item, snapshot a live shard). */
export interface InvocationBudget {
  /** Upper bound on one invocation's reading or putting time. */
  budgetMs: number;
  /** Kept free at the end of an invocation to write what it holds. */
  safetyMarginMs: number;
}

export function loadInvocationBudget(): InvocationBudget {
  return {
    budgetMs: envInt('RESERVOIR_INVOCATION_BUDGET_SECONDS', 600, 1) * 1000,
    safetyMarginMs: envInt('RESERVOIR_INVOCATION_SAFETY_MARGIN_SECONDS', 60) * 1000,
  };
}

/**
 * Epoch ms after which an invocation starts no new work: its budget, or the time the Lambda has
 * left less the safety margin, whichever comes first (at least a second, so it always progresses).
 */
export function invocationDeadline(budget: InvocationBudget, remainingMs: number, now = Date.now()): number {
  return now + Math.max(1_000, Math.min(budget.budgetMs, remainingMs - budget.safetyMarginMs));
}
