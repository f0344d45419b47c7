/**
 * The `records` view and its helper macros: the one definition of what SQL over the archive
 * (and the live stream) sees. The embedded engine (`reservoir sql`, DuckDB) builds its view from
 * this module; the EMR query window mirrors the same columns, names and de-duplication rule in
 * Hive and Drill (RECORDS_COLUMNS carries the Hive types for that).
 *
 * One row per user record (KPL aggregates are de-aggregated), unique by RECORDS_KEY. A record that
 * is both archived and still read from the stream appears once, as `source = 'archive'`.
 */

export interface RecordsColumn {
  /** Column name in the view (snake_case). */
  name: string;
  /** DuckDB type. */
  type: string;
  /** The matching Hive type, for the EMR tables and view. */
  hiveType: string;
  /** The record-line field it comes from (DESIGN.md "Archive layout"), or null for `source`. */
  field: string | null;
  description: string;
}

export const RECORDS_COLUMNS: readonly RecordsColumn[] = [
  { name: 'stream', type: 'VARCHAR', hiveType: 'string', field: 'stream', description: 'stream name' },
  { name: 'shard_id', type: 'VARCHAR', hiveType: 'string', field: 'shardId', description: 'shard id' },
  {
    name: 'sequence_number',
    type: 'VARCHAR',
    hiveType: 'string',
    field: 'sequenceNumber',
    description:
      'Kinesis sequence number: a decimal string of up to 128 bits (compare within a shard as a number)',
  },
  {
    name: 'sub_sequence_number',
    type: 'BIGINT',
    hiveType: 'bigint',
    field: 'subSequenceNumber',
    description: 'position of the user record inside a KPL aggregate (0 for plain records)',
  },
  {
    name: 'partition_key',
    type: 'VARCHAR',
    hiveType: 'string',
    field: 'partitionKey',
    description: 'partition key',
  },
  {
    name: 'arrival_time',
    type: 'TIMESTAMP',
    hiveType: 'timestamp',
    field: 'arrivalTimestamp',
    description:
      'ApproximateArrivalTimestamp, UTC (a TIMESTAMP without time zone holding UTC), millisecond precision',
  },
  {
    name: 'data',
    type: 'VARCHAR',
    hiveType: 'string',
    field: 'data',
    description: "the payload: UTF-8 text when encoding = 'utf8', base64 when encoding = 'base64'",
  },
  {
    name: 'encoding',
    type: 'VARCHAR',
    hiveType: 'string',
    field: 'encoding',
    description: "'utf8' or 'base64'",
  },
  {
    name: 'source',
    type: 'VARCHAR',
    hiveType: 'string',
    field: null,
    description:
      "'archive' (read from an archive object) or 'live' (read from the stream past the checkpoint)",
  },
];

export const RECORDS_COLUMN_NAMES: readonly string[] = RECORDS_COLUMNS.map((c) => c.name);

/** What makes a record unique: the view holds at most one row per key, the archive's when both have it. */
export const RECORDS_KEY = ['stream', 'shard_id', 'sequence_number', 'sub_sequence_number'] as const;

export const RECORDS_VIEW = 'records';

/**
 * The record line's fields with their DuckDB types (read_json's `columns`): explicit, so nothing is
 * sampled or guessed (a sequence number stays text, an empty file still has the columns).
 */
export const RECORD_LINE_COLUMNS: Readonly<Record<string, string>> = {
  stream: 'VARCHAR',
  shardId: 'VARCHAR',
  sequenceNumber: 'VARCHAR',
  subSequenceNumber: 'BIGINT',
  partitionKey: 'VARCHAR',
  arrivalTimestamp: 'BIGINT',
  data: 'VARCHAR',
  encoding: 'VARCHAR',
};

/**
 * Largest record line read_json accepts, in bytes. Records reach 10 MiB: in base64 that is
 * 14 MiB, and JSON escaping of a text payload's control characters (`\u0001`) makes 6 bytes of
 * one, 60 MiB at worst: still one line under this bound (test/unit/record-line.test.ts).
 */
export const MAX_RECORD_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Helper macros over `data` (DuckDB's json extension does the parsing):
 *
 * - `json_field(data, path)`: the value at a JSONPath as text (strings unquoted, objects and arrays
 *   as JSON), NULL when the payload is not JSON (base64, plain text) or has no such path.
 *   `json_field(data, '$.data.machine')` → `press-07`.
 * - `json_number(data, path)`: the same as a DOUBLE (NULL when absent or not a number).
 *   `avg(json_number(data, '$.data.attributes.temperature.value'))`.
 * - `payload(data, encoding)`: the original bytes as a BLOB, whatever the encoding.
 *
 * `json_extract_string(data, path)` and `data->>'$.path'` work too, but fail the whole query on the
 * first payload that is not JSON; the macros give NULL instead.
 */
export const RECORDS_MACROS_SQL = [
  // The cheap prefix test spares most JSON payloads a second parse (json_valid); try() catches
  // the rare payload that starts like JSON but is not.
  `CREATE OR REPLACE TEMP MACRO json_field(data, path) AS
     CASE WHEN starts_with(data, '{') OR starts_with(data, '[') OR json_valid(data)
          THEN try(json_extract_string(data, path)) END`,
  `CREATE OR REPLACE TEMP MACRO json_number(data, path) AS TRY_CAST(json_field(data, path) AS DOUBLE)`,
  `CREATE OR REPLACE TEMP MACRO payload(data, encoding) AS
     CASE encoding WHEN 'base64' THEN from_base64(data) ELSE encode(data) END`,
];

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** read_json over record-line files (gzip archive objects, or the plain JSONL of live records). */
export function readRecordLinesSql(files: readonly string[], compression: 'gzip' | 'uncompressed'): string {
  const columns = Object.entries(RECORD_LINE_COLUMNS)
    .map(([name, type]) => `${name}: '${type}'`)
    .join(', ');
  return (
    `read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited', ` +
    `compression = '${compression}', hive_partitioning = false, ` +
    `maximum_object_size = ${MAX_RECORD_LINE_BYTES}, columns = {${columns}})`
  );
}

/** The view's columns from a record line's fields (`source` aside). */
function projection(source: 'archive' | 'live'): string {
  return (
    'stream, shardId AS shard_id, sequenceNumber AS sequence_number, ' +
    'subSequenceNumber AS sub_sequence_number, partitionKey AS partition_key, ' +
    'epoch_ms(arrivalTimestamp) AS arrival_time, data, encoding, ' +
    `'${source}' AS source`
  );
}

/** The Parquet files' columns are the view's (RECORDS_COLUMNS but `source`): no casts. */
const PARQUET_PROJECTION = `${RECORDS_COLUMNS.filter((c) => c.field !== null)
  .map((c) => c.name)
  .join(', ')}, 'archive' AS source`;

/** read_parquet over local Parquet files of the columnar archive. */
export function readParquetSql(files: readonly string[]): string {
  return `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false)`;
}

function timeFilter(bounds: { fromMs?: number; toMs?: number }, column = 'arrivalTimestamp'): string[] {
  const conditions: string[] = [];
  if (bounds.fromMs !== undefined) conditions.push(`${column} >= ${Math.trunc(bounds.fromMs)}`);
  if (bounds.toMs !== undefined) conditions.push(`${column} < ${Math.trunc(bounds.toMs)}`);
  return conditions;
}

const where = (conditions: string[]) => (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '');

export interface RecordsViewSources {
  /** Local paths of archive objects (gzip record lines) no live record can be in. */
  archive: readonly string[];
  /**
   * Local paths of archive objects that may hold records also read live (their sequence range
   * reaches past where the live read of their shard started): live rows with a key found in
   * them are dropped, so the archive's copy wins.
   */
  archiveOverlappingLive?: readonly string[];
  /** Local paths of live records (plain JSONL record lines). */
  live?: readonly string[];
  /**
   * Local paths of the Parquet files of converted hours (those their manifests list; the JSONL
   * objects of those hours that the manifests list are then left out of `archive`). With live
   * rows, these are checked like `archiveOverlappingLive`.
   */
  parquet?: readonly string[];
  /** Arrival-time bounds in epoch ms: [fromMs, toMs). */
  fromMs?: number;
  toMs?: number;
}

/**
 * The `records` view over local files:
 *
 *   archive rows (all objects)
 *   UNION ALL
 *   live rows with no archived row of the same (stream, shardId, sequenceNumber, subSequenceNumber)
 *
 * The archive holds each record once (object keys derive from their sequence range; DESIGN.md
 * "Exactly once"), so only live rows are checked, and only against the objects that can overlap
 * them: the de-duplication costs nothing when there is no live part.
 */
export function recordsViewSql(sources: RecordsViewSources): string {
  const bounds = where(timeFilter(sources));
  const overlapping = sources.archiveOverlappingLive ?? [];
  const archive = [...sources.archive, ...overlapping];
  const live = sources.live ?? [];
  const parquet = sources.parquet ?? [];
  const parts: string[] = [];
  if (archive.length > 0)
    parts.push(`SELECT ${projection('archive')} FROM ${readRecordLinesSql(archive, 'gzip')}${bounds}`);
  if (parquet.length > 0)
    parts.push(
      `SELECT ${PARQUET_PROJECTION} FROM ${readParquetSql(parquet)}` +
        where(timeFilter(sources, 'epoch_ms(arrival_time)')),
    );
  if (live.length > 0) {
    const conditions = timeFilter(sources, 'l.arrivalTimestamp');
    if (overlapping.length > 0)
      conditions.push(
        `NOT EXISTS (SELECT 1 FROM ${readRecordLinesSql(overlapping, 'gzip')} a ` +
          'WHERE a.stream = l.stream AND a.shardId = l.shardId AND a.sequenceNumber = l.sequenceNumber ' +
          'AND a.subSequenceNumber = l.subSequenceNumber)',
      );
    if (parquet.length > 0)
      conditions.push(
        `NOT EXISTS (SELECT 1 FROM ${readParquetSql(parquet)} p ` +
          'WHERE p.stream = l.stream AND p.shard_id = l.shardId AND p.sequence_number = l.sequenceNumber ' +
          'AND p.sub_sequence_number = l.subSequenceNumber)',
      );
    parts.push(
      `SELECT ${projection('live')} FROM ${readRecordLinesSql(live, 'uncompressed')} l${where(conditions)}`,
    );
  }
  if (parts.length === 0) {
    const empty = RECORDS_COLUMNS.map((c) => `CAST(NULL AS ${c.type}) AS ${c.name}`).join(', ');
    parts.push(`SELECT ${empty} WHERE false`);
  }
  return `CREATE OR REPLACE TEMP VIEW ${RECORDS_VIEW} AS\n${parts.join('\nUNION ALL\n')}`;
}
