import { loadBaseConfig, type BaseConfig } from './base-config';
import { envInt } from './env';
import { loadReadConfig, type ReadConfig } from './read-config';

/** What the compaction handlers read from the environment, once per process. */
export interface CompactionConfig extends BaseConfig, ReadConfig {
  keysPerPartition: number;
  chunkBytes: number;
  bufferBytes: number;
  inlineBytes: number;
}

export function loadCompactionConfig(): CompactionConfig {
  return {
    ...loadBaseConfig(),
    ...loadReadConfig(),
    keysPerPartition: envInt('RESERVOIR_COMPACT_KEYS_PER_PARTITION', 500_000, 1),
    chunkBytes: envInt('RESERVOIR_COMPACT_CHUNK_MB', 256, 1) * 1024 * 1024,
    bufferBytes: envInt('RESERVOIR_COMPACT_BUFFER_MB', 64, 1) * 1024 * 1024,
    inlineBytes: envInt('RESERVOIR_COMPACT_INLINE_BYTES', 512),
  };
}
