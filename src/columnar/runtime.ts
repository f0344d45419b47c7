import { s3Client } from '../aws/clients';
import { S3ObjectStore } from '../aws/s3-adapter';
import { loadColumnarConfig, type ColumnarConfig } from '../config/columnar-config';
import type { ObjectStore } from '../core/ports';

/**
 * Config and store of the columnar handlers, built once per process. DuckDB is not here: only
 * ConvertHour loads it (converter.ts), so the other functions' bundles stay without the addon.
 */
export interface ColumnarRuntime {
  config: ColumnarConfig;
  store: ObjectStore;
}

let runtime: ColumnarRuntime | undefined;

export function columnarRuntime(): ColumnarRuntime {
  if (runtime) return runtime;
  const config = loadColumnarConfig();
  runtime = { config, store: new S3ObjectStore(s3Client(), config.bucket) };
  return runtime;
}

/** Forgets the runtime so the next call re-reads the environment (local runner, tests). */
export function resetColumnarRuntime(): void {
  runtime = undefined;
}
