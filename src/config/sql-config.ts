import { join, resolve } from 'node:path';
import { normalizePrefix } from '../core/layout';
import { loadBaseConfig } from './base-config';
import { envInt, envString } from './env';
import { loadReadConfig, type ReadConfig } from './read-config';

/** What `reservoir sql` reads from the environment (the same names as the archive's where they mean the same). */
export interface SqlSettings extends ReadConfig {
  bucket: string;
  prefix: string;
  cacheDir: string;
  downloadConcurrency: number;
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
    ...loadReadConfig(),
    ...(threads > 0 ? { threads } : {}),
  };
}
