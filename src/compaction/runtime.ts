import { loadCompactionConfig, type CompactionConfig } from '../config/compaction-config';
import { kinesisClient, s3Client } from '../aws/clients';
import { KinesisShardReader, KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3ObjectStore } from '../aws/s3-adapter';
import type { ObjectStore, ShardReader, StreamCatalog } from '../core/ports';

/** Config and adapters of the compaction handlers, built once per process. */
export interface CompactionRuntime {
  config: CompactionConfig;
  store: ObjectStore;
  reader: ShardReader;
  catalog: StreamCatalog;
}

let runtime: CompactionRuntime | undefined;

export function compactionRuntime(): CompactionRuntime {
  if (runtime) return runtime;
  const config = loadCompactionConfig();
  runtime = {
    config,
    store: new S3ObjectStore(s3Client(), config.bucket),
    reader: new KinesisShardReader(kinesisClient()),
    catalog: new KinesisStreamCatalog(kinesisClient()),
  };
  return runtime;
}

export function resetCompactionRuntime(): void {
  runtime = undefined;
}
