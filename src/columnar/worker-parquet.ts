import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore, ParquetRecordSource } from '../core/ports';
import { S3ParquetRecordSource } from './parquet-reader';

/**
 * DuckDB's memory limit in the replayItem and compactPartition functions (1024 MB): it holds one
 * chunk of a scan at a time, and the rest of the worker its buffers.
 */
export const WORKER_DUCKDB_MEMORY = '256MB';

let source: { store: ObjectStore; reader: ParquetRecordSource } | undefined;

/** The Parquet reader of a worker process (downloads under the OS temp dir, /tmp on Lambda). */
export function workerParquetSource(store: ObjectStore): ParquetRecordSource {
  if (source?.store === store) return source.reader;
  const reader = new S3ParquetRecordSource(store, {
    tmpDir: join(tmpdir(), 'reservoir-parquet'),
    memoryLimit: WORKER_DUCKDB_MEMORY,
  });
  source = { store, reader };
  return reader;
}
