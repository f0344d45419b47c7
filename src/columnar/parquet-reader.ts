import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBBlobValue } from '@duckdb/node-api';
import { CorruptStateError } from '../core/errors';
import type { ObjectStore, ParquetRecordSource } from '../core/ports';
import type { PayloadEncoding, RecordLine } from '../core/record-line';
import { sqlString } from '../sql/records-view';

/**
 * The SELECT that turns an hour's Parquet rows back into record lines: sequence numbers stay text,
 * `arrival_time` becomes epoch ms, `data` is the text as stored (UTF-8, or base64 per `encoding`).
 * No ORDER BY: with DuckDB's default `preserve_insertion_order = true` a filtered scan keeps the
 * file's order, which is (shard, sequence, sub-sequence). Payload and partition key come as bytes
 * (`encode`): the binding's string conversion drops a leading byte-order mark, which is payload.
 */
export function parquetRecordLinesSql(
  path: string,
  options: { shardId?: string; offset?: number } = {},
): string {
  const where = options.shardId !== undefined ? ` WHERE shard_id = ${sqlString(options.shardId)}` : '';
  const offset = options.offset ? ` OFFSET ${Math.trunc(options.offset)}` : '';
  return (
    'SELECT stream, shard_id, sequence_number, CAST(sub_sequence_number AS DOUBLE), encode(partition_key), ' +
    `CAST(epoch_ms(arrival_time) AS DOUBLE), encode(data), encoding FROM read_parquet(${sqlString(path)})${where}${offset}`
  );
}

export interface ParquetReaderOptions {
  /** Downloads and DuckDB's spill directory. */
  tmpDir: string;
  /** DuckDB's memory_limit, e.g. '512MB' (default: DuckDB's). */
  memoryLimit?: string;
}

/**
 * Reads local Parquet files of the archive into record lines with DuckDB: one in-memory instance,
 * a connection per read. Work items of one process read concurrently, and a connection runs one
 * query at a time: a second streamed query on it would silently end the first one's rows.
 */
export class ParquetFileReader {
  private instance: Promise<DuckDBInstance> | undefined;

  constructor(private readonly options: ParquetReaderOptions) {}

  async *readFile(
    path: string,
    options: { shardId?: string; offset?: number } = {},
  ): AsyncIterable<RecordLine[]> {
    const connection = await (await this.open()).connect();
    try {
      const result = await connection.stream(parquetRecordLinesSql(path, options));
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return;
        yield chunk.getRows().map((row) => toLine(row as unknown[]));
      }
    } finally {
      connection.closeSync();
    }
  }

  private open(): Promise<DuckDBInstance> {
    this.instance ??= (async () => {
      const config: Record<string, string> = { temp_directory: join(this.options.tmpDir, 'duckdb-spill') };
      if (this.options.memoryLimit) config.memory_limit = this.options.memoryLimit;
      return DuckDBInstance.create(':memory:', config);
    })();
    return this.instance;
  }
}

/** A BLOB value's bytes as text (Buffer keeps a byte-order mark; TextDecoder would drop it). */
function utf8(value: unknown): string {
  return Buffer.from((value as DuckDBBlobValue).bytes).toString('utf8');
}

function toLine(row: unknown[]): RecordLine {
  const [stream, shardId, sequenceNumber, subSequenceNumber, partitionKey, arrival, data, encoding] = row;
  if (encoding !== 'utf8' && encoding !== 'base64')
    throw new CorruptStateError(
      `Parquet row ${String(shardId)}/${String(sequenceNumber)}: encoding ${String(encoding)}`,
    );
  return {
    stream: stream as string,
    shardId: shardId as string,
    sequenceNumber: sequenceNumber as string,
    subSequenceNumber: subSequenceNumber as number,
    partitionKey: utf8(partitionKey),
    arrivalTimestamp: arrival as number,
    data: utf8(data),
    encoding: encoding as PayloadEncoding,
  };
}

/** Parquet objects of the archive, downloaded to a temp dir and read with DuckDB. */
export class S3ParquetRecordSource implements ParquetRecordSource {
  private readonly files: ParquetFileReader;
  private downloads = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: ParquetReaderOptions,
  ) {
    this.files = new ParquetFileReader(options);
  }

  /**
   * Each read has a download of its own, removed when the read ends: work items of one process
   * read concurrently (a shared file would be replaced under a read that is still going).
   */
  async *read(key: string, options: { shardId?: string; offset?: number } = {}): AsyncIterable<RecordLine[]> {
    const path = await this.download(key);
    try {
      yield* this.files.readFile(path, options);
    } finally {
      rmSync(path, { force: true });
    }
  }

  private async download(key: string): Promise<string> {
    const body = await this.store.getObject(key);
    if (!body) throw new CorruptStateError(`Parquet object ${key} is missing (its manifest lists it)`);
    mkdirSync(this.options.tmpDir, { recursive: true });
    const path = join(this.options.tmpDir, `reservoir-${process.pid}-${++this.downloads}.parquet`);
    writeFileSync(path, body);
    return path;
  }
}
