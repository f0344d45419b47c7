import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type AthenaClient,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import { athenaRecordsViewSql } from './catalog';

/**
 * One query through Athena: StartQueryExecution in the workgroup (whose enforced configuration
 * decides where results go and how many bytes a query may scan), GetQueryExecution until the
 * state is final, then GetQueryResults page by page. The `records` view is created
 * (CREATE OR REPLACE VIEW) when the query fails because it is missing, and the query runs again.
 */

export interface AthenaQuery {
  query: string;
  workGroup: string;
  database: string;
  /** Called on every poll: the state and the bytes scanned so far. */
  onProgress?: (state: string, bytesScanned: number) => void;
  /** Between polls (default 1 s, doubling to 5 s). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface AthenaColumn {
  name: string;
  /** Athena's type name: varchar, bigint, double, timestamp, boolean... */
  type: string;
}

export interface AthenaResult {
  queryExecutionId: string;
  bytesScanned: number;
  columns: AthenaColumn[];
  /** Rows as text (null for SQL NULL), page by page. */
  rows: AsyncGenerator<(string | null)[][]>;
}

/** A query that did not succeed; its message names the query execution id. */
export class AthenaQueryError extends Error {
  constructor(
    message: string,
    readonly queryExecutionId: string | undefined,
    readonly state?: string,
  ) {
    super(message);
    this.name = 'AthenaQueryError';
  }
}

/** Athena's price per query: `perTbScanned` USD per TiB, bytes rounded up to MiB, a 10 MiB minimum. */
// The arithmetic is pure (reservoir cost prices full scans with it too).
export { athenaQueryCost, type AthenaPrices } from '../core/cost-model';

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** The view `records` is missing (Athena: "Table 'awsdatacatalog.db.records' does not exist"). */
function viewMissing(execution: QueryExecution): boolean {
  const reason = execution.Status?.StateChangeReason ?? '';
  return /'?(?:[\w]+\.)*records'? does not exist|TABLE_NOT_FOUND.*records/i.test(reason);
}

async function execute(client: AthenaClient, request: AthenaQuery): Promise<QueryExecution> {
  const sleep = request.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let started;
  try {
    started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: request.query,
        WorkGroup: request.workGroup,
        QueryExecutionContext: { Database: request.database },
      }),
    );
  } catch (error) {
    throw new AthenaQueryError(`Athena refused the query: ${(error as Error).message}`, undefined);
  }
  const id = started.QueryExecutionId;
  if (!id) throw new AthenaQueryError('Athena returned no query execution id', undefined);
  let wait = request.pollMs ?? 1_000;
  for (;;) {
    let execution: QueryExecution | undefined;
    try {
      execution = (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution;
    } catch (error) {
      throw new AthenaQueryError(`query ${id}: GetQueryExecution failed: ${(error as Error).message}`, id);
    }
    const state = execution?.Status?.State ?? 'UNKNOWN';
    request.onProgress?.(state, execution?.Statistics?.DataScannedInBytes ?? 0);
    if (execution && FINAL.has(state)) return execution;
    await sleep(wait);
    wait = Math.min(wait * 2, 5_000);
  }
}

function failure(execution: QueryExecution): AthenaQueryError {
  const id = execution.QueryExecutionId;
  const state = execution.Status?.State ?? 'UNKNOWN';
  const reason = execution.Status?.StateChangeReason ?? execution.Status?.AthenaError?.ErrorMessage ?? '';
  return new AthenaQueryError(
    `query ${id} ${state.toLowerCase()}${reason ? `: ${reason}` : ''}`,
    id ?? undefined,
    state,
  );
}

async function* pages(
  client: AthenaClient,
  id: string,
  skipHeader: boolean,
): AsyncGenerator<(string | null)[][]> {
  let token: string | undefined;
  let first = true;
  do {
    let page;
    try {
      page = await client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
      );
    } catch (error) {
      throw new AthenaQueryError(`query ${id}: GetQueryResults failed: ${(error as Error).message}`, id);
    }
    const rows = (page.ResultSet?.Rows ?? []).map((row) =>
      (row.Data ?? []).map((datum) => datum.VarCharValue ?? null),
    );
    // The first row of a query's (DML) results holds the column names.
    yield first && skipHeader ? rows.slice(1) : rows;
    first = false;
    token = page.NextToken;
  } while (token);
}

/** Runs the query (creating the `records` view first when it is missing) and gives its results. */
export async function runAthenaQuery(client: AthenaClient, request: AthenaQuery): Promise<AthenaResult> {
  let execution = await execute(client, request);
  if (execution.Status?.State === 'FAILED' && viewMissing(execution)) {
    const view = await execute(client, {
      ...request,
      query: athenaRecordsViewSql(request.database),
      onProgress: (state) => request.onProgress?.(`creating view records: ${state}`, 0),
    });
    if (view.Status?.State !== 'SUCCEEDED') throw failure(view);
    execution = await execute(client, request);
  }
  if (execution.Status?.State !== 'SUCCEEDED') throw failure(execution);
  const id = execution.QueryExecutionId!;
  const metadata = await client
    .send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1 }))
    .catch((error: Error) => {
      throw new AthenaQueryError(`query ${id}: GetQueryResults failed: ${error.message}`, id);
    });
  const columns = (metadata.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => ({
    name: c.Name ?? c.Label ?? '',
    type: (c.Type ?? 'varchar').toLowerCase(),
  }));
  return {
    queryExecutionId: id,
    bytesScanned: execution.Statistics?.DataScannedInBytes ?? 0,
    columns,
    rows: pages(client, id, execution.StatementType === 'DML'),
  };
}
