import { s3Client } from '../aws/clients';
import { S3ObjectStore } from '../aws/s3-adapter';
import { loadColumnarConfig, type ColumnarConfig } from '../config/columnar-config';
import type { ObjectStore } from '../core/ports';
import type { ConvertHourDeps } from './convert-hour';
import { ParquetWriter } from './parquet-writer';

/** Config and adapters of the columnar conversion, built once per process. */
export interface ColumnarRuntime {
  config: ColumnarConfig;
  store: ObjectStore;
  deps: ConvertHourDeps;
}

let runtime: ColumnarRuntime | undefined;

export function columnarRuntime(): ColumnarRuntime {
  if (runtime) return runtime;
  const config = loadColumnarConfig();
  const store = new S3ObjectStore(s3Client(), config.bucket);
  const writer = new ParquetWriter({
    tempDirectory: `${config.tmpDir}/duckdb-spill`,
    ...(config.memoryLimit ? { memoryLimit: config.memoryLimit } : {}),
  });
  runtime = { config, store, deps: { store, writer, tmpDir: config.tmpDir, now: () => new Date() } };
  return runtime;
}

/** Forgets the runtime so the next call re-reads the environment (local runner, tests). */
export function resetColumnarRuntime(): void {
  runtime = undefined;
}
