import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBInstance,
  DuckDBTimestampTZValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  StatementType,
  type DuckDBConnection,
  type DuckDBDecimalValue,
  type DuckDBPreparedStatement,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
} from '@duckdb/node-api';
import { RECORDS_MACROS_SQL, recordsViewSql, sqlString, type RecordsViewSources } from './records-view';

/** A failed statement: DuckDB's message, its error type, and where in the query it points. */
export class SqlError extends Error {
  constructor(
    /** DuckDB's error type: Parser, Binder, Catalog, Conversion, IO, … */
    readonly errorType: string,
    readonly detail: string,
    readonly query: string,
    /** Index into `query` (a JS string index), or null when DuckDB gave no position. */
    readonly position: number | null,
  ) {
    super(`${errorType} Error: ${detail}`);
    this.name = 'SqlError';
  }

  /** Line and column (1-based) of the position, and the line's text. */
  get location(): { line: number; column: number; text: string } | null {
    if (this.position === null) return null;
    const before = this.query.slice(0, this.position);
    const line = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const lineEnd = this.query.indexOf('\n', lineStart);
    const text = this.query.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
    return { line, column: this.position - lineStart + 1, text };
  }

  /** One line: the message and where it points (`… at line 1, column 8`). */
  summary(): string {
    const where = this.location;
    const first = this.message.split('\n')[0]!;
    return where ? `${first} (at line ${where.line}, column ${where.column})` : first;
  }

  /** The message, then the offending line with a caret under the position. */
  render(): string {
    const lines = [this.message];
    const where = this.location;
    if (where) {
      const prefix = `LINE ${where.line}: `;
      lines.push('', `${prefix}${where.text}`, `${' '.repeat(prefix.length + where.column - 1)}^`);
    }
    return lines.join('\n');
  }
}

/** DuckDB error JSON (errors_as_json) → SqlError; the position is a byte offset into `query`. */
export function toSqlError(error: unknown, query: string): SqlError {
  const message = error instanceof Error ? error.message : String(error);
  const start = message.indexOf('{');
  if (start !== -1) {
    try {
      const parsed = JSON.parse(message.slice(start)) as {
        exception_type?: string;
        exception_message?: string;
        position?: string;
      };
      const bytes = parsed.position === undefined ? null : Number(parsed.position);
      return new SqlError(
        parsed.exception_type ?? 'SQL',
        parsed.exception_message ?? message,
        query,
        bytes === null || !Number.isInteger(bytes) ? null : charIndexOfByte(query, bytes),
      );
    } catch {
      // not JSON after all: fall through
    }
  }
  return new SqlError('SQL', message.replace(/^Error: /, ''), query, null);
}

/** DuckDB positions count UTF-8 bytes; JS strings count UTF-16 units. */
export function charIndexOfByte(text: string, byteOffset: number): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString('utf8').length;
}

// ---------------------------------------------------------------------------------------------------------------
// Values: JSON output converts BIGINTs to numbers when exact, timestamps to ISO-8601 UTC.

function isoFromMicros(micros: bigint): string | null {
  let millis = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    millis -= 1n;
    rest += 1000n;
  }
  const date = new Date(Number(millis));
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  return rest === 0n ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

function bigintToJson(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : String(value);
}

/** DuckDB values as JSON: exact integers as numbers, big ones as strings; instants as ISO-8601 UTC. */
export const jsonValue: DuckDBValueConverter<Json> = (value, type, converter) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return typeof value === 'bigint'
        ? bigintToJson(value)
        : JsonDuckDBValueConverter(value, type, converter);
    case DuckDBTypeId.DECIMAL: {
      const decimal = value as DuckDBDecimalValue;
      return decimal.width <= 15 ? Number(decimal.toString()) : decimal.toString();
    }
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ: {
      const micros = (value as { micros: bigint }).micros;
      return isoFromMicros(micros) ?? String(value);
    }
    case DuckDBTypeId.TIMESTAMP_S:
      return isoFromMicros((value as { seconds: bigint }).seconds * 1_000_000n) ?? String(value);
    case DuckDBTypeId.TIMESTAMP_MS:
      return isoFromMicros((value as { millis: bigint }).millis * 1000n) ?? String(value);
    case DuckDBTypeId.TIMESTAMP_NS:
      return isoFromMicros((value as { nanos: bigint }).nanos / 1000n) ?? String(value);
    default:
      return JsonDuckDBValueConverter(value, type, converter);
  }
};

/** A value as text, the way DuckDB prints it (CSV, tables); null as null. */
function textValue(value: DuckDBValue): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : String(value);
}

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

export function csvField(text: string | null): string {
  if (text === null) return '';
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

// ---------------------------------------------------------------------------------------------------------------

/** Where a query's result goes. `write` must resolve once the text may be written again (backpressure). */
export type QueryOutput =
  | { format: 'table'; write: (text: string) => Promise<void>; maxRows: number; maxCellWidth?: number }
  | { format: 'json'; write: (text: string) => Promise<void> }
  | { format: 'csv'; write: (text: string) => Promise<void> }
  | { format: 'file'; path: string };

export interface QueryResult {
  /** Rows of the last statement's result (written to the file with --out). */
  rows: number;
  columns: string[];
  statements: number;
}

const FILE_FORMATS: { suffix: RegExp; options: string }[] = [
  { suffix: /\.csv(\.gz|\.zst)?$/i, options: 'FORMAT csv, HEADER true' },
  { suffix: /\.parquet$|\.pq$/i, options: 'FORMAT parquet' },
];

/** The COPY options for an --out file, by its extension; null when the extension is not supported. */
export function copyOptionsFor(path: string): string | null {
  return FILE_FORMATS.find((f) => f.suffix.test(path))?.options ?? null;
}

export interface EngineOptions {
  /** Where DuckDB spills when a query needs more memory than it has. */
  tempDirectory?: string;
  threads?: number;
}

/**
 * An in-memory DuckDB with the `records` view and the helper macros, session time zone UTC
 * (arrival_time holds UTC; casts to TIMESTAMPTZ then mean what they say).
 */
export class SqlEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async open(options: EngineOptions = {}): Promise<SqlEngine> {
    const config: Record<string, string> = {};
    if (options.tempDirectory) {
      // DuckDB creates the directory when it first spills, but not its parents.
      mkdirSync(dirname(options.tempDirectory), { recursive: true });
      config.temp_directory = options.tempDirectory;
    }
    if (options.threads) config.threads = String(options.threads);
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // Display TIMESTAMPTZ in UTC too (the JS values print with this offset).
    DuckDBTimestampTZValue.timezoneOffsetInMinutes = 0;
    await connection.run("SET TimeZone = 'UTC'");
    await connection.run('SET errors_as_json = true');
    for (const macro of RECORDS_MACROS_SQL) await connection.run(macro);
    return new SqlEngine(instance, connection);
  }

  async defineRecords(sources: RecordsViewSources): Promise<void> {
    const sql = recordsViewSql(sources);
    try {
      await this.connection.run(sql);
    } catch (error) {
      throw toSqlError(error, sql);
    }
  }

  /**
   * Checks `query` before anything is downloaded: parse errors always; a single statement is also
   * bound (prepared) against the view as it stands, so a misspelt column fails in a second, not
   * after the download. Several statements are only parsed (a later one may use an earlier one's table).
   */
  async check(query: string): Promise<void> {
    if (query.trim().length === 0) throw new SqlError('Parser', 'the query is empty', query, null);
    const statements = await this.guard(query, () => this.connection.extractStatements(query));
    if (statements.count === 1) (await this.guard(query, () => statements.prepare(0))).destroySync();
  }

  /** Runs every statement of `query`; the last one's result goes to `output`. */
  async execute(query: string, output: QueryOutput): Promise<QueryResult> {
    if (query.trim().length === 0) throw new SqlError('Parser', 'the query is empty', query, null);
    const statements = await this.guard(query, () => this.connection.extractStatements(query));
    if (statements.count === 0) throw new SqlError('Parser', 'the query has no statement', query, null);
    if (output.format === 'file' && statements.count > 1)
      throw new SqlError('Parser', '--out takes a single statement', query, null);
    for (let i = 0; i < statements.count - 1; i++) {
      const prepared = await this.guard(query, () => statements.prepare(i));
      await this.guard(query, () => prepared.run());
    }
    const last = await this.guard(query, () => statements.prepare(statements.count - 1));
    const columns = Array.from({ length: last.columnCount }, (_, i) => last.columnName(i));
    if (output.format === 'file') {
      const rows = await this.copyTo(query, last, output.path);
      return { rows, columns, statements: statements.count };
    }
    const result = await this.guard(query, () => last.stream());
    const names = result.deduplicatedColumnNames();
    const types = result.columnTypes();
    let rows = 0;
    if (output.format === 'json') {
      await output.write('[');
      for await (const chunk of this.rowsOf(query, result.yieldConvertedRows(jsonValue))) {
        let text = '';
        for (const row of chunk) {
          const object: Record<string, Json> = {};
          names.forEach((name, i) => (object[name] = row[i] ?? null));
          text += `${rows === 0 ? '\n' : ',\n'}${JSON.stringify(object)}`;
          rows += 1;
        }
        await output.write(text);
      }
      await output.write(rows === 0 ? ']\n' : '\n]\n');
    } else if (output.format === 'csv') {
      await output.write(`${result.columnNames().map(csvField).join(',')}\n`);
      for await (const chunk of this.rowsOf(query, result.yieldRows())) {
        let text = '';
        for (const row of chunk) text += `${row.map((value) => csvField(textValue(value))).join(',')}\n`;
        rows += chunk.length;
        await output.write(text);
      }
    } else {
      const shown: string[][] = [];
      for await (const chunk of this.rowsOf(query, result.yieldRows())) {
        for (const row of chunk) {
          if (shown.length < output.maxRows) shown.push(row.map((value) => textValue(value) ?? 'NULL'));
          rows += 1;
        }
      }
      await output.write(
        renderTable(result.columnNames(), types, shown, rows, output.maxRows, output.maxCellWidth ?? 80),
      );
    }
    return { rows, columns, statements: statements.count };
  }

  private async copyTo(query: string, prepared: DuckDBPreparedStatement, path: string): Promise<number> {
    const options = copyOptionsFor(path);
    if (!options)
      throw new SqlError('Invalid Input', `--out ${path}: use a .csv, .csv.gz or .parquet file`, query, null);
    if (prepared.statementType !== StatementType.SELECT)
      throw new SqlError('Invalid Input', '--out needs a query (a SELECT statement)', query, null);
    // The statement was prepared (so checked) alone; COPY wraps its text, trailing semicolons aside.
    const body = query.trim().replace(/;+\s*$/, '');
    const copy = `COPY (\n${body}\n) TO ${sqlString(path)} (${options})`;
    const result = await this.guard(query, () => this.connection.runAndReadAll(copy));
    const count = result.getRows()[0]?.[0];
    return typeof count === 'bigint' || typeof count === 'number' ? Number(count) : 0;
  }

  /** Runs a DuckDB call; a failure becomes a SqlError pointing into `query`. */
  private async guard<T>(query: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw error instanceof SqlError ? error : toSqlError(error, query);
    }
  }

  private async *rowsOf<T>(query: string, chunks: AsyncIterableIterator<T>): AsyncGenerator<T> {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw toSqlError(error, query);
      }
      if (next.done) return;
      yield next.value;
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function renderTable(
  names: string[],
  types: DuckDBType[],
  rows: string[][],
  total: number,
  maxRows: number,
  maxCellWidth: number,
): string {
  const numeric = types.map((type) => NUMERIC.has(type.typeId));
  return renderTextTable(names, numeric, rows, total, maxRows, maxCellWidth);
}

/** The `--format table` text (numeric columns right-aligned): also the Athena engine's. */
export function renderTextTable(
  names: string[],
  numeric: boolean[],
  rows: string[][],
  total: number,
  maxRows: number,
  maxCellWidth: number,
): string {
  const clip = (text: string) => {
    const flat = text.replace(/\r?\n/g, '\\n');
    return flat.length > maxCellWidth ? `${flat.slice(0, maxCellWidth - 1)}…` : flat;
  };
  const header = names.map(clip);
  const body = rows.map((row) => row.map(clip));
  const widths = header.map((name, i) => Math.max(name.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[], align: boolean) =>
    cells
      .map((cell, i) => (align && numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join(' | ')
      .trimEnd();
  const out = [
    line(header, true),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...body.map((r) => line(r, true)),
  ];
  const count = `(${total} row${total === 1 ? '' : 's'}${total > maxRows ? `, first ${maxRows} shown: --max-rows N, --format csv|json or --out for more` : ''})`;
  return `${out.join('\n')}\n${count}\n`;
}
