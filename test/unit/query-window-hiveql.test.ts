import { HiveSQL } from 'dt-sql-parser';
import {
  createTablesScript,
  hiveString,
  kinesisTableNames,
  kinesisTablesScript,
  recordsViewStatement,
  RECORDS_COLUMN_NAMES,
  type HiveTablesSpec,
} from '../../src/query-window/hiveql';
import { RECORDS_COLUMNS, RECORDS_KEY } from '../../src/sql/records-view';

/**
 * The HiveQL a query window runs, checked by a HiveQL parser (dt-sql-parser's HiveSQL, the
 * grammar of Hive 4) and against the archive layout and the records view's contract.
 */

const hive = new HiveSQL();

/** Parser errors of a script, one line each (empty: the parser accepts every statement). */
function errors(sql: string): string[] {
  return hive.validate(sql).map((e) => `${e.startLine}:${e.startColumn} ${e.message}`);
}

/** The script's statements, comments dropped. */
function statements(sql: string): string[] {
  return (hive.splitSQLByStatement(sql) ?? [])
    .map((s) => s.text.replace(/--[^\n]*\n/g, '').trim())
    .filter((s) => s.length > 0);
}

const SPEC: HiveTablesSpec = {
  windowId: 'qw-20261122-a1',
  archiveLocation: 's3://reservoir-archive/kinesis/archive/',
  liveLocation: 's3://reservoir-archive/kinesis/runs/query-window/qw-20261122-a1/live/',
  streams: ['orders', 'payments.eu', 'click-stream'],
};

describe('query window HiveQL (src/query-window/hiveql.ts)', () => {
  it('when the parser is given a broken statement, then it reports it (the check below is not vacuous)', () => {
    expect(
      errors('CREATE EXTERNAL TABLE `reservoir`.`x` (`a` STRING PARTITIONED BY (`b` STRING);'),
    ).not.toEqual([]);
    expect(errors(createTablesScript(SPEC).replace("SERDE 'org", 'SERDE org'))).not.toEqual([]);
  });

  it('when a script is generated, then no comment holds a ";" (the Hive CLI splits scripts on them)', () => {
    for (const script of [createTablesScript(SPEC), kinesisTablesScript(SPEC)])
      for (const line of script.split('\n').filter((l) => l.startsWith('--')))
        expect(line).not.toContain(';');
  });

  it.each([
    ['with a live snapshot', SPEC],
    ['without one', { ...SPEC, liveLocation: null }],
    ['with one stream and no prefix', { ...SPEC, streams: ['orders'], archiveLocation: 's3://b/archive/' }],
    [
      'with quotes and backslashes in the prefix',
      { ...SPEC, archiveLocation: "s3://b/o'brien\\x/archive/", liveLocation: "s3://b/o'brien\\x/runs/l/" },
    ],
  ])('when create-tables.q is generated %s, then the HiveQL parser accepts every statement', (_, spec) => {
    const script = createTablesScript(spec);

    expect(errors(script)).toEqual([]);
    expect(statements(script).length).toBeGreaterThanOrEqual(8);
  });

  it('when the archive table is read, then it is external, JSON, partitioned by stream/dt/hr at the archive root, and its partitions are registered', () => {
    const [table, repair] = statements(createTablesScript(SPEC)).filter((s) => /archive_records/.test(s));

    expect(table).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS `reservoir`\.`archive_records` \(/);
    expect(table).toContain('PARTITIONED BY (`stream` STRING, `dt` STRING, `hr` STRING)');
    expect(table).toContain("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'");
    expect(table).toContain("LOCATION 's3://reservoir-archive/kinesis/archive/'");
    // Every record-line field but stream (the partition), lower-cased as Hive stores names.
    for (const column of [
      'shardid',
      'sequencenumber',
      'subsequencenumber',
      'partitionkey',
      'arrivaltimestamp',
      'data',
      'encoding',
    ])
      expect(table).toContain(`\`${column}\``);
    expect(repair).toBe('MSCK REPAIR TABLE `reservoir`.`archive_records`;');
  });

  it('when the live snapshot table is read, then it is the window’s live/ prefix partitioned by stream, registered too', () => {
    const script = createTablesScript(SPEC);

    expect(script).toContain(
      "LOCATION 's3://reservoir-archive/kinesis/runs/query-window/qw-20261122-a1/live/'",
    );
    expect(script).toContain('PARTITIONED BY (`stream` STRING)');
    expect(script).toContain('MSCK REPAIR TABLE `reservoir`.`live_snapshot`;');
    expect(createTablesScript({ ...SPEC, liveLocation: null })).not.toContain('live_snapshot');
  });

  it('when the records view is read, then it has the embedded engine’s columns in order, de-duplicated on its key with the archive first', () => {
    const view = recordsViewStatement(SPEC);
    const outer = /^SELECT (.*)$/m.exec(view)![1]!;

    expect(RECORDS_COLUMN_NAMES).toEqual(RECORDS_COLUMNS.map((c) => c.name));
    expect(outer.split(', ').map((c) => c.replace(/`ranked`\.|`/g, ''))).toEqual(RECORDS_COLUMN_NAMES);
    expect(view).toContain(
      `ROW_NUMBER() OVER (PARTITION BY ${RECORDS_KEY.map((c) => `\`u\`.\`${c}\``).join(', ')} ORDER BY \`u\`.\`source_rank\`)`,
    );
    expect(view).toContain("'archive' AS `source`");
    expect(view).toContain("'live' AS `source`");
    expect(view).toMatch(
      /'archive' AS `source`,\s+`a`\.`dt` AS `dt`,\s+`a`\.`hr` AS `hr`,\s+1 AS `source_rank`/,
    );
    expect(view).toMatch(
      /'live' AS `source`,\s+CAST\(NULL AS STRING\) AS `dt`,\s+CAST\(NULL AS STRING\) AS `hr`,\s+2 AS `source_rank`/,
    );
    expect(view).toContain(
      'WHERE `ranked`.`copy_rank` = 1 AND (`ranked`.`source_rank` <> 1 OR `ranked`.`hour_rank` = 1);',
    );
    expect(view).toContain('CAST(`a`.`arrivaltimestamp` / 1000.0 AS TIMESTAMP) AS `arrival_time`');
    expect(view).toContain('CAST(`a`.`subsequencenumber` AS BIGINT) AS `sub_sequence_number`');
    expect(view).toContain("WHERE `a`.`stream` IN ('orders', 'payments.eu', 'click-stream')");
    expect(errors(view)).toEqual([]);
  });

  const COLUMNAR = { ...SPEC, columnarLocation: 's3://reservoir-archive/kinesis/columnar/' };

  it('when create-tables.q reads the columnar hours, then the Parquet table is partitioned like the archive, registered, and the parser accepts it', () => {
    const script = createTablesScript(COLUMNAR);
    const [table, repair] = statements(script).filter((s) => /archive_columnar/.test(s));

    expect(errors(script)).toEqual([]);
    expect(table).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS `reservoir`\.`archive_columnar` \(/);
    expect(table).toContain('PARTITIONED BY (`stream` STRING, `dt` STRING, `hr` STRING)');
    expect(table).toContain('STORED AS PARQUET');
    expect(table).toContain("LOCATION 's3://reservoir-archive/kinesis/columnar/'");
    // The Parquet columns (matched by name): the records view's but source and stream (the partition).
    const columns = [...table!.matchAll(/^ {2}`(\w+)` (\w+)/gm)].map((m) => m[1]);
    expect(columns).toEqual(
      RECORDS_COLUMNS.filter((c) => c.name !== 'source' && c.name !== 'stream').map((c) => c.name),
    );
    expect(table).toContain('`arrival_time` BIGINT');
    expect(repair).toBe('MSCK REPAIR TABLE `reservoir`.`archive_columnar`;');
  });

  it('when the view reads the columnar hours, then Parquet ranks first and JSONL rows of hours with Parquet are dropped', () => {
    const view = recordsViewStatement(COLUMNAR);

    expect(errors(view)).toEqual([]);
    expect(view).toMatch(
      /'archive' AS `source`,\s+`c`\.`dt` AS `dt`,\s+`c`\.`hr` AS `hr`,\s+0 AS `source_rank`/,
    );
    expect(view).toContain('CAST(`c`.`arrival_time` / 1000000.0 AS TIMESTAMP) AS `arrival_time`');
    expect(view).toContain(
      'MIN(`u`.`source_rank`) OVER (PARTITION BY `u`.`stream`, `u`.`dt`, `u`.`hr`) AS `hour_rank`',
    );
    expect(view).toContain("WHERE `c`.`stream` IN ('orders', 'payments.eu', 'click-stream')");
    expect(view.split('UNION ALL')).toHaveLength(3);
  });

  it('when the view has no live part, then it reads the archive alone (still de-duplicated)', () => {
    const view = recordsViewStatement({ ...SPEC, liveLocation: null });

    expect(view).not.toContain('UNION ALL');
    expect(view).not.toContain("'live'");
    expect(errors(view)).toEqual([]);
  });

  it('when kinesis-tables.q is generated, then the parser accepts it and each stream has a storage handler table', () => {
    const script = kinesisTablesScript({ windowId: 'w', streams: ['orders', 'a.b', 'a-b', 'Orders2'] });
    const tables = statements(script).filter((s) => s.startsWith('CREATE EXTERNAL TABLE'));

    expect(errors(script)).toEqual([]);
    expect(tables).toHaveLength(4);
    for (const table of tables) {
      expect(table).toContain("STORED BY 'com.amazon.emr.kinesis.hive.KinesisStorageHandler'");
      expect(table).toMatch(/TBLPROPERTIES \('kinesis\.stream\.name' = '[^']+'\);$/);
    }
    expect(script).toContain("TBLPROPERTIES ('kinesis.stream.name' = 'a-b')");
  });

  it('when stream names map to Hive table names, then they are valid, lower-case, and distinct', () => {
    const names = kinesisTableNames(['orders', 'a.b', 'a-b', 'A_B', 'x']);

    expect(names.get('orders')).toBe('kinesis_orders');
    expect(names.get('x')).toBe('kinesis_x');
    expect(new Set(names.values()).size).toBe(5);
    for (const name of names.values()) expect(name).toMatch(/^kinesis_[a-z0-9_]+$/);
  });

  it('when a string literal holds quotes and backslashes, then it is escaped as Hive reads it', () => {
    expect(hiveString("o'brien\\x")).toBe("'o\\'brien\\\\x'");
    expect(errors(`SELECT ${hiveString("it's \\ ok")} AS s;`)).toEqual([]);
  });
});
