import { Command } from 'commander';
import { archiveCommand } from './commands/archive';
import { columnarCommand } from './commands/columnar';
import { compactCommand } from './commands/compact';
import { demoCommand } from './commands/demo';
import { gapsAcknowledgeCommand, gapsCommand } from './commands/gaps';
import { localUpCommand } from './commands/local-up';
import { statusCommand } from './commands/status';
import { verifyCommand } from './commands/verify';
import { costCommand } from './commands/cost';
import {
  queryWindowCloseCommand,
  queryWindowOpenCommand,
  queryWindowStatusCommand,
} from './commands/query-window';
import { replayCommand } from './commands/replay';
import { athenaSqlCommand, sqlCommand } from './commands/sql';
import { LOCAL_BUCKET } from '../local/local-env';
import { announceLocalTarget } from './local-target';
import { CommandFailure } from './output';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The `reservoir` command line. */
export function buildProgram(): Command {
  const program = new Command('reservoir')
    .description('Archive, query and replay Amazon Kinesis Data Streams.')
    .option('--verbose', "also print the handlers' JSON logs (as POWERTOOLS_LOG_LEVEL=INFO does)");
  // Every command that works against local endpoints says where first (stderr), and fails fast
  // when they do not answer. `sql` without --stage reads the bucket those variables point to.
  program.hook('preAction', async (_program, action) => {
    const options = action.opts() as { local?: boolean; stage?: string; engine?: string };
    const localSql = action.name() === 'sql' && !options.stage && options.engine !== 'athena';
    if (options.local || localSql) await announceLocalTarget();
  });
  const local = program.command('local').description('embedded emulators for running on one machine');
  local
    .command('up')
    .description('start embedded Kinesis (kinesalite) and S3 (s3rver) on loopback until interrupted')
    .option('--dir <dir>', 'where the emulators keep their data', '.reservoir/local')
    .option('--kinesis-port <port>', 'Kinesis port', '4567')
    .option('--s3-port <port>', 'S3 port', '4569')
    .option('--bucket <name>', 'archive bucket to create', process.env.RESERVOIR_BUCKET ?? LOCAL_BUCKET)
    .action(localUpCommand);
  program
    .command('archive')
    .description('run the archive state machine: in-process (--local) or the deployed one')
    .option('--local', 'run statemachines/archive.asl.yml in-process against AWS_ENDPOINT_URL_KINESIS / _S3')
    .option(
      '--stream <name>',
      'archive this stream (repeatable); default: tagged and listed streams',
      collect,
    )
    .option('--json', 'print the summary as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await archiveCommand(options);
    });
  program
    .command('columnar')
    .description(
      'convert closed hours of the archive to Parquet (columnar/…, a manifest per hour), in-process',
    )
    .option('--local', 'run in-process against AWS_ENDPOINT_URL_S3 / RESERVOIR_BUCKET (required for now)')
    .option('--stream <name>', 'convert this stream (repeatable); default: every archived stream', collect)
    .option('--from <iso>', 'only hours that end after this instant')
    .option('--to <iso>', 'only hours that begin before this instant')
    .option('--include-open', 'also convert hours still open (a later run converts them again)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (options) => {
      await columnarCommand(options);
    });
  program
    .command('status')
    .description(
      'per stream and shard: checkpoint, unarchived records, lag and time to loss; recent executions',
    )
    .option('--local', 'read the emulators at AWS_ENDPOINT_URL_KINESIS / _S3 instead of the deployed stack')
    .option('--stream <name>', 'only this stream (repeatable); default: archived streams', collect)
    .option('--probe-limit <n>', 'records read per shard to count what is not archived yet', '1000')
    .option('--short-fraction <f>', "flag time to loss under this share of the stream's retention", '0.25')
    .option('--executions <n>', 'recent executions listed per state machine (AWS mode)', '5')
    .option(
      '--check',
      'exit 2 when anything is unhealthy (failing shards, time to loss, no recent run): for cron and CI',
    )
    .option(
      '--max-run-age <time>',
      'no finished archive run for longer than this is a problem (e.g. 90m, 3h)',
      '2h',
    )
    .option('--json', 'print the report as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await statusCommand(options);
    });
  const gaps = program
    .command('gaps')
    .description(
      'data gaps: open ones (the shard fails every archive run) and acknowledged ones (the ledger)',
    )
    .option('--local', 'read the emulators at AWS_ENDPOINT_URL_KINESIS / _S3 instead of the deployed stack')
    .option('--stream <name>', 'only this stream (repeatable); default: every archived stream', collect)
    .option('--json', 'print the gaps as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await gapsCommand(options);
    });
  gaps
    .command('acknowledge')
    .description(
      "record a shard's open gap in the gap ledger and move its checkpoint past it: the next run goes on",
    )
    .option('--local', 'act on the emulators at AWS_ENDPOINT_URL_KINESIS / _S3 instead of the deployed stack')
    .requiredOption('--stream <name>', 'the stream')
    .requiredOption('--shard <id>', 'the shard with the open gap')
    .option('--note <text>', 'why the loss is accepted (kept in the ledger entry)')
    .option('--by <name>', 'who acknowledges (default: the local user name)')
    .option('--json', 'print the ledger entry as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await gapsAcknowledgeCommand(options);
    });
  program
    .command('verify')
    .description(
      'per stream, shard and hour: is the archive complete (object chains, checkpoints, Parquet files) and intact (--deep)?',
    )
    .option(
      '--local',
      'read the emulators at AWS_ENDPOINT_URL_S3 / RESERVOIR_BUCKET instead of the deployed stack',
    )
    .option('--stream <name>', 'only this stream (repeatable); default: archived streams', collect)
    .option('--from <iso>', 'only report hours that end after this instant')
    .option('--to <iso>', 'only report hours that begin before this instant')
    .option('--deep', 'also download every object and Parquet file of those hours and read them through')
    .option('--json', 'print the report as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await verifyCommand(options);
    });
  program
    .command('cost')
    .description(
      'monthly cost estimate per archived stream, beside Data Firehose and Kinesis long-term retention',
    )
    .option('--local', 'read the emulators at AWS_ENDPOINT_URL_KINESIS / _S3 instead of the deployed stack')
    .option(
      '--stream <name>',
      'only this stream (repeatable); default: streams of recent archive runs',
      collect,
    )
    .option('--prices <file>', 'price table (JSON, dated); default: pricing/us-east-1.json of the package')
    .option('--window-days <days>', 'newest days of the archive the monthly growth is taken from', '7')
    .option('--runs-per-month <n>', 'archive runs per month (default: from the spacing of recent runs)')
    .option('--json', 'print the estimate as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await costCommand(options);
    });
  program
    .command('replay')
    .description(
      'replay archived (and live) records into a stream: in-process (--local) or the deployed state machine',
    )
    .option('--local', 'run statemachines/replay.asl.yml in-process against AWS_ENDPOINT_URL_KINESIS / _S3')
    .option(
      '--request <file>',
      'the replay request as JSON (a file, or - for stdin); flags override its fields',
    )
    .option('--stream <name>', 'source stream')
    .option('--target <name>', 'target stream (default: the source)')
    .option('--from <iso>', 'inclusive lower bound on arrival time')
    .option('--to <iso>', 'exclusive upper bound on arrival time')
    .option('--filter <json>', 'a Lambda event-filtering pattern, or an array of patterns')
    .option('--annotate <key=value>', 'annotation on every replayed envelope (repeatable)', collect)
    .option('--format <format>', 'envelope (default) or raw')
    .option('--include-live', 'also replay records still in the stream, not archived yet')
    .option('--compact', 'replay only the newest record per partition key within the bounds')
    .option('--filter-stage <stage>', 'with --compact: before (default) or after choosing the newest record')
    .option('--replay-id <id>', 'name of the replay; re-running an id resumes it')
    .option('--speedup <n>', 'put records at their original inter-arrival times divided by n (1: real time)')
    .option('--records-per-second <r>', 'put no more than r records a second across the replay')
    .option(
      '--plan',
      'print what would move, the target capacity, the expected duration and the cost; write and put nothing',
    )
    .option('--dry-run', 'the older name of --plan')
    .option(
      '--follow <replayId>',
      'progress bars of a running replay (items, records, rate, throttles, ETA) until it ends',
    )
    .option('--stop <replayId>', 'stop a running replay; running the same --replay-id again resumes it')
    .option('--reason <text>', "with --stop: why (the execution's stop cause)")
    .option('--prices <file>', 'with --plan: price table (default: pricing/us-east-1.json of the package)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--stage <stage>', 'deployed stage (without --local)', 'dev')
    .action(async (options) => {
      await replayCommand(options);
    });
  program
    .command('compact')
    .description('materialise the last record per partition key of a stream, without replaying it')
    .option('--local', 'run statemachines/compact.asl.yml in-process against AWS_ENDPOINT_URL_KINESIS / _S3')
    .requiredOption('--stream <name>', 'the stream to compact')
    .option('--from <iso>', 'inclusive lower bound on arrival time')
    .option('--to <iso>', 'exclusive upper bound on arrival time')
    .option('--filter <json>', 'a Lambda event-filtering pattern, or an array of patterns')
    .option(
      '--filter-stage <stage>',
      'before (default): newest record that passes the filter; after: newest record, kept if it passes',
    )
    .option('--tombstone <json>', 'a pattern: records matching it delete their key')
    .option('--include-live', 'also compact records still in the stream, not archived yet')
    .option('--out <prefix>', 'key prefix of the result in the bucket (default compacted/stream=S/<run>/)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (options) => {
      await compactCommand(options);
    });
  program
    .command('sql')
    .description(
      'SQL (DuckDB) over the archive, and with --live the records still in the streams, as the view `records`',
    )
    .argument('<query>', 'SQL; the last statement\'s result is printed (e.g. "SELECT count(*) FROM records")')
    .option('--stream <name>', 'a stream in the view (repeatable); default: every archived stream', collect)
    .option('--from <iso>', 'inclusive lower bound on arrival time (only the partitions needed are read)')
    .option('--to <iso>', 'exclusive upper bound on arrival time')
    .option('--live', 'also read what is still in the streams past the archive checkpoints')
    .option('--format <format>', 'table, json (one array of row objects) or csv', 'table')
    .option('--max-rows <n>', 'rows shown by --format table', '100')
    .option('--out <file>', 'write the result to a .csv, .csv.gz or .parquet file instead')
    .option(
      '--cache-dir <dir>',
      'local cache of archive objects (default RESERVOIR_SQL_CACHE or .reservoir/cache)',
    )
    .option('--stage <stage>', 'the deployed stack whose bucket to read (default: RESERVOIR_BUCKET)')
    .option(
      '--engine <engine>',
      "duckdb (embedded) or athena (the stack's workgroup reservoir-<stage>; name the stream: WHERE stream = '...')",
      'duckdb',
    )
    .option('--prices <file>', 'athena: price table for the query cost; default: pricing/us-east-1.json')
    .action(async (query: string, options) => {
      if (options.engine === 'athena') await athenaSqlCommand(query, options);
      else await sqlCommand(query, options);
    });
  const queryWindow = program
    .command('query-window')
    .description(
      'SQL at scale: an EMR cluster with Hive and Apache Drill over the archive (deployed stack only)',
    );
  queryWindow
    .command('open')
    .description('start a query window and wait until it is open; prints the Drill and HiveServer2 endpoints')
    .option(
      '--request <file>',
      'the window request as JSON (a file, or - for stdin); flags override its fields',
    )
    .option(
      '--stream <name>',
      'a stream in the tables and view (repeatable); default: every archived stream',
      collect,
    )
    .option('--duration <time>', 'how long it stays open unless closed first, e.g. 4h, 90m (default: 4h)')
    .option('--release <label>', 'EMR release label (default emr-6.15.0)')
    .option('--drill-version <version>', 'Apache Drill version the bootstrap action installs')
    .option('--master-type <type>', 'master instance type (default m5.xlarge)')
    .option('--core-type <type>', 'core instance type (default m5.xlarge)')
    .option('--core-count <n>', 'core instances (default 2; 0: master only)')
    .option(
      '--subnet <id>',
      'subnet of the cluster (required): it and its VPC tagged for-use-with-amazon-emr-managed-policies=true',
    )
    .option('--key-name <name>', 'EC2 key pair for SSH')
    .option('--security-group <id>', 'additional security group of the master (repeatable)', collect)
    .option('--security-configuration <name>', 'EMR security configuration')
    .option('--live <mode>', 'auto (default), snapshot or none: the live part of the records view')
    .option('--kinesis-tables', 'also create Hive tables over the streams (EMR Kinesis storage handler)')
    .option('--window-id <id>', 'the window (execution) name (default qw-<time>-<random>)')
    .option('--no-wait', 'return once started')
    .option('--json', 'print the open window (endpoints) as JSON on stdout')
    .option('--stage <stage>', 'deployed stage', 'dev')
    .action(async (options) => {
      await queryWindowOpenCommand(options);
    });
  queryWindow
    .command('close')
    .description('close a window: its task token goes back and the state machine terminates its cluster')
    .argument('[window]', 'the window id (default: the only open one)')
    .option('--wait', 'wait until the cluster is terminated')
    .option('--json', 'print the outcome as JSON on stdout')
    .option('--stage <stage>', 'deployed stage', 'dev')
    .action(async (window: string | undefined, options) => {
      await queryWindowCloseCommand(window, options);
    });
  queryWindow
    .command('status')
    .description('a window in detail (phase, cluster, endpoints, when it closes), or every open one')
    .argument('[window]', 'the window id (default: every open window)')
    .option('--json', 'print as JSON on stdout')
    .option('--stage <stage>', 'deployed stage', 'dev')
    .action(async (window: string | undefined, options) => {
      await queryWindowStatusCommand(window, options);
    });
  program
    .command('demo')
    .description('the whole story on embedded emulators (npm start)')
    .option('--dir <dir>', 'where the demo keeps its data (default: a new folder under .reservoir/)')
    .action(demoCommand);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const message =
      error instanceof CommandFailure
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    process.stderr.write(`reservoir: ${message.split('\n')[0]}\n`);
    process.exitCode = error instanceof CommandFailure ? error.exitCode : 1;
  }
}
