import { gzipSync } from 'node:zlib';
import { loadArchiveConfig, type ArchiveConfig } from '../config/archive-config';
import { kinesisClient, kinesisSubscriptionClient, s3Client } from '../aws/clients';
import { KinesisShardReader, KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3BucketLifecycle, S3ObjectStore } from '../aws/s3-adapter';
import type { BucketLifecycle, ObjectStore, ShardSubscriber, StreamCatalog } from '../core/ports';
import { KinesisShardSubscriber } from '../aws/kinesis-subscriber';
import { telemetry } from '../telemetry/powertools';
import { recordDataGap } from '../telemetry/workflow-metrics';
import { processReadBudget, sleep } from '../reading/process-budget';
import { ShardArchiver } from './shard-archiver';

/** Config and adapters of the archive handlers, built once per process. */
export interface ArchiveRuntime {
  config: ArchiveConfig;
  store: ObjectStore;
  catalog: StreamCatalog;
  archiver: ShardArchiver;
  /** Enhanced fan-out: registers reservoir's consumer (PlanShards) and subscribes (ArchiveShard). */
  subscriber: ShardSubscriber;
  lifecycle: BucketLifecycle;
}

let runtime: ArchiveRuntime | undefined;

export function archiveRuntime(): ArchiveRuntime {
  if (runtime) return runtime;
  const config = loadArchiveConfig();
  const store = new S3ObjectStore(s3Client(), config.bucket);
  const subscriber = new KinesisShardSubscriber(kinesisSubscriptionClient());
  const archiver = new ShardArchiver(config, {
    reader: new KinesisShardReader(kinesisClient()),
    subscriber,
    store,
    compress: (body) => gzipSync(body, { level: config.gzipLevel }),
    budget: processReadBudget(),
    now: Date.now,
    sleep,
    onGap: (gap) => recordDataGap(telemetry().metrics, gap),
  });
  runtime = {
    config,
    store,
    catalog: new KinesisStreamCatalog(kinesisClient()),
    archiver,
    subscriber,
    lifecycle: new S3BucketLifecycle(s3Client(), config.bucket),
  };
  return runtime;
}

/** Forgets the runtime so the next call re-reads the environment (local runner, tests). */
export function resetArchiveRuntime(): void {
  runtime = undefined;
}
