import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBaseConfig, type BaseConfig } from './base-config';
import { envInt, envString } from './env';

/** What the columnar conversion (PlanColumnar, ConvertHour, `reservoir columnar`) reads. */
export interface ColumnarConfig extends BaseConfig {
  /** Hours one archive run converts at most (oldest first; the next run takes the rest). */
  hoursPerRun: number;
  /** Downloads, the Parquet file and DuckDB's spill files (Lambda: /tmp, its ephemeral storage). */
  tmpDir: string;
  /** DuckDB's memory_limit: a share of the Lambda's memory, so the Node heap keeps the rest. */
  memoryLimit?: string;
}

export function loadColumnarConfig(): ColumnarConfig {
  const lambdaMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '');
  return {
    ...loadBaseConfig(),
    hoursPerRun: envInt('RESERVOIR_COLUMNAR_HOURS_PER_RUN', 500, 1),
    tmpDir: envString('RESERVOIR_COLUMNAR_TMP_DIR', join(tmpdir(), 'reservoir-columnar')),
    ...(lambdaMb > 0 ? { memoryLimit: `${Math.floor(lambdaMb * 0.6)}MB` } : {}),
  };
}
