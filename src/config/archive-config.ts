import { ConfigError } from '../core/errors';
import { loadBaseConfig, loadInvocationBudget, type BaseConfig, type InvocationBudget } from './base-config';
import { envInt, envList } from './env';
import { loadReadConfig, type ReadConfig } from './read-config';

/** Everything the archive handlers read from the environment, read once per process. */
export interface ArchiveConfig extends BaseConfig, InvocationBudget, ReadConfig {
  /** Tombstone patterns of LATEST streams, by stream. */
  tombstones: Record<string, unknown>;
  /** Streams archived whether or not they are tagged (deployment parameter `archiveStreams`). */
  listedStreams: string[];
  /**
   * Streams whose retention the deployment parameter `retention` sets, as lifecycle rules in the
   * stack (serverless.yml): the archive run leaves their rules alone and ignores their tags.
   */
  deployedRetentionStreams: string[];
  maxObjectBytes: number;
  gzipLevel: number;
  /** How long a run holds a shard without writing its checkpoint (longer than an invocation). */
  leaseMs: number;
  /** Shards per Map page (the page travels in the state payload, capped at 256 KiB). */
  shardsPerPage: number;
}

/** RESERVOIR_TOMBSTONES: a JSON object, stream name → tombstone filter pattern. */
function tombstonesFromEnv(): Record<string, unknown> {
  const raw = process.env.RESERVOIR_TOMBSTONES;
  if (!raw) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ConfigError(
    'Environment variable RESERVOIR_TOMBSTONES must be a JSON object (stream → filter pattern)',
  );
}

/**
 * RESERVOIR_SHARD_LEASE_SECONDS (default 20 min): must outlast the longest ArchiveShard
 * invocation (Lambda's 15 min cap, and the shard budget), or a live holder could lose its shard.
 */
function leaseMsFromEnv({ budgetMs, safetyMarginMs }: InvocationBudget): number {
  const leaseMs = envInt('RESERVOIR_SHARD_LEASE_SECONDS', 1200, 1) * 1000;
  // The last block is written after the reading budget, within the safety margin.
  if (leaseMs <= budgetMs + safetyMarginMs) {
    throw new ConfigError(
      `Environment variable RESERVOIR_SHARD_LEASE_SECONDS (${leaseMs / 1000}) must be longer than ` +
        `RESERVOIR_INVOCATION_BUDGET_SECONDS + RESERVOIR_INVOCATION_SAFETY_MARGIN_SECONDS ` +
        `(${(budgetMs + safetyMarginMs) / 1000}): a lease must outlast an invocation`,
    );
  }
  return leaseMs;
}

export function loadArchiveConfig(): ArchiveConfig {
  const budget = loadInvocationBudget();
  return {
    ...loadBaseConfig(),
    ...budget,
    ...loadReadConfig(),
    tombstones: tombstonesFromEnv(),
    listedStreams: envList('RESERVOIR_STREAMS'),
    deployedRetentionStreams: envList('RESERVOIR_DEPLOYED_RETENTION_STREAMS'),
    maxObjectBytes: envInt('RESERVOIR_MAX_OBJECT_MB', 32, 1) * 1024 * 1024,
    gzipLevel: envInt('RESERVOIR_GZIP_LEVEL', 6, 1),
    leaseMs: leaseMsFromEnv(budget),
    shardsPerPage: envInt('RESERVOIR_SHARDS_PER_PAGE', 500, 1),
  };
}
