import { loadCompactionConfig, type CompactionConfig } from '../config/compaction-config';
import { kinesisClient, s3Client } from '../aws/clients';
import { KinesisShardReader, KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3ObjectStore } from '../aws/s3-adapter';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { processReadBudget, sleep } from '../reading/process-budget';
import type { ShardReadDeps } from '../reading/shard-read';

/** Config and adapters of the compaction handlers, built once per process. */
export interface CompactionRuntime {
  config: CompactionConfig;
  store: ObjectStore;
  /** How partition workers read live inputs. */
  live: ShardReadDeps;
  catalog: StreamCatalog;
}

let runtime: CompactionRuntime | undefined;

export function compactionRuntime(): CompactionRuntime {
  if (runtime) return runtime;
  const config = loadCompactionConfig();
  runtime = {
    config,
    store: new S3ObjectStore(s3Client(), config.bucket),
    live: {
      reader: new KinesisShardReader(kinesisClient()),
      budget: processReadBudget(),
      now: Date.now,
      sleep,
    },
    catalog: new KinesisStreamCatalog(kinesisClient()),
  };
  return runtime;
}

export function resetCompactionRuntime(): void {
  runtime = undefined;
}
