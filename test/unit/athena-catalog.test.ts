import { TrinoSQL } from 'dt-sql-parser';
import {
  athenaRecordsViewSql,
  COLUMNAR_COLUMNS,
  databaseName,
  JSONL_COLUMNS,
  projectionParameters,
  tableInput,
  workGroupName,
} from '../../src/athena/catalog';
import { RECORDS_COLUMNS, RECORDS_KEY } from '../../src/sql/records-view';

/**
 * The Athena side of the archive (src/athena/catalog.ts): the `records` view is Trino SQL, checked
 * by dt-sql-parser's Trino grammar; the tables' columns follow the record line and the view.
 */

const trino = new TrinoSQL();

function errors(sql: string): string[] {
  return trino.validate(sql).map((e) => `${e.startLine}:${e.startColumn} ${e.message}`);
}

describe('Athena catalog (src/athena/catalog.ts)', () => {
  it('when the parser is given a broken view, then it reports it (the check below is not vacuous)', () => {
    expect(errors(athenaRecordsViewSql('reservoir_dev').replace('UNION ALL', 'UNION ALL ALL'))).not.toEqual(
      [],
    );
    expect(errors('CREATE OR REPLACE VIEW v AS SELECT FROM')).not.toEqual([]);
  });

  it.each(['reservoir_dev', 'reservoir_prod_eu'])(
    'when the records view of %s is generated, then the Trino parser accepts it',
    (database) => {
      expect(errors(athenaRecordsViewSql(database))).toEqual([]);
    },
  );

  it('when the records view is read, then it has the embedded engine’s columns in order', () => {
    const view = athenaRecordsViewSql('reservoir_dev');
    const outer = /^SELECT (.*)$/m.exec(view)![1]!;

    expect(view).toMatch(/^CREATE OR REPLACE VIEW "reservoir_dev"\."records" AS\n/);
    expect(outer.split(', ').map((c) => c.replace(/"|'archive' AS /g, ''))).toEqual(
      RECORDS_COLUMNS.map((c) => c.name),
    );
  });

  it('when the records view is read, then it keeps one row per key, Parquet first, and JSONL rows only of hours without Parquet', () => {
    const view = athenaRecordsViewSql('reservoir_dev');

    expect(view).toContain(
      `ROW_NUMBER() OVER (PARTITION BY ${RECORDS_KEY.map((c) => `"${c}"`).join(', ')} ORDER BY "columnar" DESC)`,
    );
    expect(view).toContain('max("columnar") OVER (PARTITION BY "stream", "dt", "hr")');
    expect(view).toContain('WHERE "copy" = 1 AND ("columnar" = 1 OR "has_columnar" = 0)');
    expect(view).toContain('FROM "reservoir_dev"."archive_columnar" c');
    expect(view).toContain('FROM "reservoir_dev"."archive_jsonl" j');
    // Every window partitions by stream first: WHERE stream = '...' reaches both scans (injected).
    for (const window of view.match(/PARTITION BY [^)]*/g)!) expect(window).toMatch(/^PARTITION BY "stream"/);
  });

  it('when the JSONL side is read, then arrival_time is the epoch milliseconds as a UTC TIMESTAMP', () => {
    expect(athenaRecordsViewSql('d')).toContain(
      `date_add('millisecond', j."arrivaltimestamp", TIMESTAMP '1970-01-01 00:00:00.000') AS "arrival_time"`,
    );
  });

  it('when names are derived from a stage, then Glue gets underscores and Athena the stage as is', () => {
    expect(databaseName('dev')).toBe('reservoir_dev');
    expect(databaseName('prod-eu-1')).toBe('reservoir_prod_eu_1');
    expect(workGroupName('prod-eu-1')).toBe('reservoir-prod-eu-1');
  });

  it('when the tables are built, then the location template follows the archive layout and escapes for Fn::Sub', () => {
    expect(projectionParameters('s3://b/p/archive/')['storage.location.template']).toBe(
      's3://b/p/archive/stream=${stream}/dt=${dt}/hr=${hr}/',
    );
    const input = tableInput('columnar', 's3://${ArchiveBucket}/columnar/', { forSub: true }) as {
      Parameters: Record<string, string>;
    };
    expect(input.Parameters['storage.location.template']).toBe(
      's3://${ArchiveBucket}/columnar/stream=${!stream}/dt=${!dt}/hr=${!hr}/',
    );
    expect(JSONL_COLUMNS.map((c) => c.Name)).toEqual([
      'shardid',
      'sequencenumber',
      'subsequencenumber',
      'partitionkey',
      'arrivaltimestamp',
      'data',
      'encoding',
    ]);
    expect(COLUMNAR_COLUMNS.map((c) => c.Type)).toEqual([
      'string',
      'string',
      'bigint',
      'string',
      'timestamp',
      'string',
      'string',
    ]);
  });
});
