import { normalizePrefix } from '../core/layout';
import { envInt, envString } from './env';

/** What the compaction handlers read from the environment, once per process. */
export interface CompactionConfig {
  bucket: string;
  prefix: string;
  keysPerPartition: number;
  chunkBytes: number;
  bufferBytes: number;
  inlineBytes: number;
}

export function loadCompactionConfig(): CompactionConfig {
  return {
    bucket: envString('RESERVOIR_BUCKET', 'reservoir-archive'),
    prefix: normalizePrefix(envString('RESERVOIR_PREFIX', '')),
    keysPerPartition: envInt('RESERVOIR_COMPACT_KEYS_PER_PARTITION', 500_000, 1),
    chunkBytes: envInt('RESERVOIR_COMPACT_CHUNK_MB', 256, 1) * 1024 * 1024,
    bufferBytes: envInt('RESERVOIR_COMPACT_BUFFER_MB', 64, 1) * 1024 * 1024,
    inlineBytes: envInt('RESERVOIR_COMPACT_INLINE_BYTES', 512),
  };
}
