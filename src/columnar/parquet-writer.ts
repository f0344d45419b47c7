import { DuckDBInstance } from '@duckdb/node-api';
import { RECORDS_COLUMNS, readRecordLinesSql, sqlString } from '../sql/records-view';

/**
 * The columns of an hour's Parquet files: those of the `records` view but `source`, with the same
 * names and DuckDB types (RECORDS_COLUMNS is the one definition).
 */
export const COLUMNAR_COLUMNS = RECORDS_COLUMNS.filter((c) => c.field !== null);

/** A column's value from the record line's field (read_json's typed columns). */
function columnExpression(field: string, type: string): string {
  const source = field === 'arrivalTimestamp' ? 'epoch_ms(arrivalTimestamp)' : field;
  return `CAST(${source} AS ${type})`;
}

/**
 * The SELECT of a conversion: every record line once, in shard order: shard, then sequence number
 * as a number (up to ~56 digits, past DECIMAL(38): by length, then as text), then sub-sequence.
 */
export function columnarSelectSql(files: readonly string[]): string {
  const columns = COLUMNAR_COLUMNS.map((c) => `${columnExpression(c.field!, c.type)} AS ${c.name}`).join(
    ', ',
  );
  return (
    `SELECT ${columns} FROM ${readRecordLinesSql(files, 'gzip')} ` +
    'ORDER BY shardId, length(sequenceNumber), sequenceNumber, subSequenceNumber'
  );
}

export function columnarCopySql(files: readonly string[], output: string, rowGroupRows: number): string {
  return (
    `COPY (${columnarSelectSql(files)}) TO ${sqlString(output)} ` +
    `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${Math.trunc(rowGroupRows)})`
  );
}

export interface ParquetWriterOptions {
  /** Where DuckDB spills when the sort needs more memory than it has. */
  tempDirectory: string;
  /** DuckDB's memory_limit, e.g. '1GB' (default: DuckDB's, 80% of the machine). */
  memoryLimit?: string;
  threads?: number;
}

/** Writes gzip record-line files into one Parquet file with DuckDB, and counts a Parquet file's rows. */
export class ParquetWriter {
  constructor(private readonly options: ParquetWriterOptions) {}

  async write(files: readonly string[], output: string, rowGroupRows: number): Promise<number> {
    return this.withConnection(async (connection) => {
      const result = await connection.runAndReadAll(columnarCopySql(files, output, rowGroupRows));
      return Number(result.getRows()[0]?.[0] ?? 0);
    });
  }

  /** Rows in a Parquet file, from its footer. */
  async countRows(path: string): Promise<number> {
    return this.withConnection(async (connection) => {
      const result = await connection.runAndReadAll(
        `SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(${sqlString(path)})`,
      );
      return Number(result.getRows()[0]?.[0] ?? 0);
    });
  }

  private async withConnection<T>(
    use: (connection: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>,
  ): Promise<T> {
    const config: Record<string, string> = { temp_directory: this.options.tempDirectory };
    if (this.options.memoryLimit) config.memory_limit = this.options.memoryLimit;
    if (this.options.threads) config.threads = String(this.options.threads);
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    try {
      return await use(connection);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }
}
