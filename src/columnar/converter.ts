import type { ConvertHourDeps } from './convert-hour';
import { ParquetWriter } from './parquet-writer';
import { columnarRuntime } from './runtime';

let deps: ConvertHourDeps | undefined;

/** convertHour's dependencies: the columnar runtime's store and a DuckDB Parquet writer. */
export function converterDeps(): ConvertHourDeps {
  if (deps) return deps;
  const { config, store } = columnarRuntime();
  const writer = new ParquetWriter({
    tempDirectory: `${config.tmpDir}/duckdb-spill`,
    ...(config.memoryLimit ? { memoryLimit: config.memoryLimit } : {}),
  });
  deps = { store, writer, tmpDir: config.tmpDir, now: () => new Date() };
  return deps;
}
