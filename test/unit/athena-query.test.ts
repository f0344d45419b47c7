import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { writeAthenaResult } from '../../src/athena/output';
import { AthenaQueryError, athenaQueryCost, runAthenaQuery } from '../../src/athena/query';

/**
 * The Athena client code of `reservoir sql --engine athena` (src/athena/query.ts, output.ts)
 * against a mocked AthenaClient: there is no Athena emulator.
 */

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: 'us-east-1' });
const REQUEST = { workGroup: 'reservoir-dev', database: 'reservoir_dev', sleep: async () => {} };

function execution(
  id: string,
  state: string,
  bytes = 0,
  extra: { reason?: string; statementType?: string } = {},
): GetQueryExecutionCommandOutput {
  return {
    $metadata: {},
    QueryExecution: {
      QueryExecutionId: id,
      StatementType: (extra.statementType ?? 'DML') as 'DML',
      Status: { State: state as 'RUNNING', StateChangeReason: extra.reason },
      Statistics: { DataScannedInBytes: bytes },
    },
  };
}

const columnInfo = [
  { Name: 'partition_key', Type: 'varchar' },
  { Name: 'n', Type: 'bigint' },
];
const datum = (value: string | null) => (value === null ? {} : { VarCharValue: value });
function page(rows: (string | null)[][], nextToken?: string): GetQueryResultsCommandOutput {
  return {
    $metadata: {},
    NextToken: nextToken,
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: columnInfo },
      Rows: rows.map((row) => ({ Data: row.map(datum) })),
    },
  };
}

async function collect(rows: AsyncGenerator<(string | null)[][]>): Promise<(string | null)[][]> {
  const all: (string | null)[][] = [];
  for await (const p of rows) all.push(...p);
  return all;
}

beforeEach(() => athena.reset());

describe('Athena queries (src/athena/query.ts)', () => {
  it('given a query that is queued, then running, then succeeds, when run, then progress reports each state and bytes scanned', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('q-1', 'QUEUED'))
      .resolvesOnce(execution('q-1', 'RUNNING', 1_000))
      .resolves(execution('q-1', 'SUCCEEDED', 5_000));
    athena.on(GetQueryResultsCommand).resolves(page([['partition_key', 'n']]));
    const progress: [string, number][] = [];

    const result = await runAthenaQuery(client, {
      ...REQUEST,
      query: "SELECT 1 FROM records WHERE stream = 'orders'",
      onProgress: (state, bytes) => progress.push([state, bytes]),
    });

    expect(progress).toEqual([
      ['QUEUED', 0],
      ['RUNNING', 1_000],
      ['SUCCEEDED', 5_000],
    ]);
    expect(result.queryExecutionId).toBe('q-1');
    expect(result.bytesScanned).toBe(5_000);
    expect(result.columns).toEqual([
      { name: 'partition_key', type: 'varchar' },
      { name: 'n', type: 'bigint' },
    ]);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input).toEqual({
      QueryString: "SELECT 1 FROM records WHERE stream = 'orders'",
      WorkGroup: 'reservoir-dev',
      QueryExecutionContext: { Database: 'reservoir_dev' },
    });
  });

  it('given results on three pages, when read, then every row comes once, the header row of the first page skipped, NULL as null', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athena.on(GetQueryExecutionCommand).resolves(execution('q-2', 'SUCCEEDED', 10));
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-2', MaxResults: 1 })
      .resolves(page([['partition_key', 'n']], 't1'))
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-2', MaxResults: 1000, NextToken: undefined })
      .resolves(
        page(
          [
            ['partition_key', 'n'],
            ['a', '1'],
          ],
          't1',
        ),
      )
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-2', MaxResults: 1000, NextToken: 't1' })
      .resolves(page([['b', '2']], 't2'))
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-2', MaxResults: 1000, NextToken: 't2' })
      .resolves(page([[null, '3']]));

    const result = await runAthenaQuery(client, { ...REQUEST, query: 'SELECT 1' });

    expect(await collect(result.rows)).toEqual([
      ['a', '1'],
      ['b', '2'],
      [null, '3'],
    ]);
  });

  it('given a query that fails, when run, then the error names the query execution id and Athena’s reason', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-3' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('q-3', 'RUNNING'))
      .resolves(
        execution('q-3', 'FAILED', 0, {
          reason:
            'CONSTRAINT_VIOLATION: For the injected projected partition column stream, the WHERE clause must contain only static equality conditions',
        }),
      );

    const failure = runAthenaQuery(client, { ...REQUEST, query: 'SELECT count(*) FROM records' });

    await expect(failure).rejects.toThrow(AthenaQueryError);
    await expect(failure).rejects.toThrow(/^query q-3 failed: CONSTRAINT_VIOLATION/);
  });

  it('given a query cancelled (the workgroup’s bytes-scanned cutoff), when run, then it fails naming the id', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-4' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves(
        execution('q-4', 'CANCELLED', 10_000_000, { reason: 'Query exhausted the bytes scanned limit' }),
      );

    await expect(runAthenaQuery(client, { ...REQUEST, query: 'SELECT 1' })).rejects.toThrow(
      'query q-4 cancelled: Query exhausted the bytes scanned limit',
    );
  });

  it('given the records view is missing, when run, then it is created (CREATE OR REPLACE VIEW) and the query runs again', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .resolvesOnce({ QueryExecutionId: 'q-5' })
      .resolvesOnce({ QueryExecutionId: 'view-1' })
      .resolvesOnce({ QueryExecutionId: 'q-6' });
    athena
      .on(GetQueryExecutionCommand, { QueryExecutionId: 'q-5' })
      .resolves(
        execution('q-5', 'FAILED', 0, {
          reason: "line 1:22: Table 'awsdatacatalog.reservoir_dev.records' does not exist",
        }),
      )
      .on(GetQueryExecutionCommand, { QueryExecutionId: 'view-1' })
      .resolves(execution('view-1', 'SUCCEEDED', 0, { statementType: 'DDL' }))
      .on(GetQueryExecutionCommand, { QueryExecutionId: 'q-6' })
      .resolves(execution('q-6', 'SUCCEEDED', 42));
    athena.on(GetQueryResultsCommand).resolves(page([['partition_key', 'n']]));

    const result = await runAthenaQuery(client, {
      ...REQUEST,
      query: "SELECT * FROM records WHERE stream = 'o'",
    });

    const queries = athena
      .commandCalls(StartQueryExecutionCommand)
      .map((call) => call.args[0].input.QueryString ?? '');
    expect(queries).toHaveLength(3);
    expect(queries[1]).toMatch(/^CREATE OR REPLACE VIEW "reservoir_dev"\."records" AS/);
    expect(queries[2]).toBe(queries[0]);
    expect(result.queryExecutionId).toBe('q-6');
  });

  it('given StartQueryExecution is refused, when run, then the error says so', async () => {
    athena.on(StartQueryExecutionCommand).rejects(new Error('WorkGroup reservoir-dev is not found'));

    await expect(runAthenaQuery(client, { ...REQUEST, query: 'SELECT 1' })).rejects.toThrow(
      'Athena refused the query: WorkGroup reservoir-dev is not found',
    );
  });

  it.each([
    [0, 10 * 5 * 2 ** -20],
    [10 * 2 ** 20, 10 * 5 * 2 ** -20],
    [2 ** 40, 5],
    [2 ** 40 + 1, (2 ** 20 + 1) * 5 * 2 ** -20],
  ])(
    'given %d bytes scanned, when priced, then the cost is $%d (per TB, MB rounded up, 10 MB minimum)',
    (bytes, usd) => {
      expect(athenaQueryCost(bytes, { perTbScanned: 5, minimumMbPerQuery: 10 })).toBeCloseTo(usd, 12);
    },
  );
});

describe('Athena results in the DuckDB engine’s formats (src/athena/output.ts)', () => {
  async function* rows(): AsyncGenerator<(string | null)[][]> {
    yield [['a,b', '9007199254740993']];
    yield [[null, '2']];
  }
  const result = () => ({
    queryExecutionId: 'q',
    bytesScanned: 0,
    columns: [
      { name: 'partition_key', type: 'varchar' },
      { name: 'n', type: 'bigint' },
    ],
    rows: rows(),
  });

  async function written(format: 'json' | 'csv' | 'table'): Promise<string> {
    let text = '';
    const write = async (chunk: string) => {
      text += chunk;
    };
    await writeAthenaResult(
      result(),
      format === 'table' ? { format, write, maxRows: 100 } : { format, write },
    );
    return text;
  }

  it('when written as JSON, then it is one array of row objects, big integers as strings, NULL as null', async () => {
    expect(JSON.parse(await written('json'))).toEqual([
      { partition_key: 'a,b', n: '9007199254740993' },
      { partition_key: null, n: 2 },
    ]);
  });

  it('when written as CSV, then it has a header and quotes as DuckDB’s writer does', async () => {
    expect(await written('csv')).toBe('partition_key,n\n"a,b",9007199254740993\n,2\n');
  });

  it('when written as a table, then numbers are right-aligned and the row count follows', async () => {
    expect(await written('table')).toBe(
      [
        'partition_key |                n',
        '--------------+-----------------',
        'a,b           | 9007199254740993',
        'NULL          |                2',
        '(2 rows)',
        '',
      ].join('\n'),
    );
  });
});
