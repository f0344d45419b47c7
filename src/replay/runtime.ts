import { loadReplayConfig, type ReplayConfig } from '../config/replay-config';
import { kinesisClient, s3Client } from '../aws/clients';
import { KinesisRecordWriter, KinesisShardReader, KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3ObjectStore } from '../aws/s3-adapter';
import type { ObjectStore, RecordWriter, StreamCatalog } from '../core/ports';
import { processReadBudget, sleep } from '../reading/process-budget';
import { ReplayWorker } from './replay-worker';

/** Config and adapters of the replay handlers, built once per process. */
export interface ReplayRuntime {
  config: ReplayConfig;
  store: ObjectStore;
  catalog: StreamCatalog;
  writer: RecordWriter;
  worker: ReplayWorker;
}

let runtime: ReplayRuntime | undefined;

export function replayRuntime(): ReplayRuntime {
  if (runtime) return runtime;
  const config = loadReplayConfig();
  const store = new S3ObjectStore(s3Client(), config.bucket);
  const writer = new KinesisRecordWriter(kinesisClient());
  const worker = new ReplayWorker(config, {
    store,
    reader: new KinesisShardReader(kinesisClient()),
    writer,
    budget: processReadBudget(),
    now: Date.now,
    sleep,
  });
  runtime = { config, store, catalog: new KinesisStreamCatalog(kinesisClient()), writer, worker };
  return runtime;
}

export function resetReplayRuntime(): void {
  runtime = undefined;
}
