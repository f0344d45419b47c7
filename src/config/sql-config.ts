import { join, resolve } from 'node:path';
import { normalizePrefix } from '../core/layout';
import { loadBaseConfig } from './base-config';
import { envInt, envString } from './env';

/** What `reservoir sql` reads from the environment (the same names as the archive's where they mean the same). */
export interface SqlSettings {
  bucket: string;
  prefix: string;
  cacheDir: string;
  downloadConcurrency: number;
  pollIntervalMs: number;
  getRecordsLimit: number;
  throttleAttempts: number;
  throttleBaseDelayMs: number;
  threads?: number;
}

export function loadSqlSettings(
  overrides: { cacheDir?: string; bucket?: string; prefix?: string } = {},
): SqlSettings {
  const { cacheDir } = overrides;
  const threads = envInt('RESERVOIR_SQL_THREADS', 0);
  return {
    // A deployed stack's bucket and prefix (--stage) need no RESERVOIR_BUCKET.
    ...(overrides.bucket !== undefined
      ? { bucket: overrides.bucket, prefix: normalizePrefix(overrides.prefix ?? '') }
      : loadBaseConfig()),
    cacheDir: resolve(cacheDir ?? envString('RESERVOIR_SQL_CACHE', join('.reservoir', 'cache'))),
    downloadConcurrency: envInt('RESERVOIR_SQL_DOWNLOADS', 16, 1),
    pollIntervalMs: envInt('RESERVOIR_POLL_INTERVAL_MS', 200),
    getRecordsLimit: envInt('RESERVOIR_GETRECORDS_LIMIT', 10_000, 1),
    throttleAttempts: envInt('RESERVOIR_THROTTLE_ATTEMPTS', 6, 1),
    throttleBaseDelayMs: envInt('RESERVOIR_THROTTLE_BASE_DELAY_MS', 250),
    ...(threads > 0 ? { threads } : {}),
  };
}
