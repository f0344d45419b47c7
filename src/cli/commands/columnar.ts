import '../../local/local-env';
import { convertHour, type ConvertHourResult } from '../../columnar/convert-hour';
import { planColumnar } from '../../columnar/plan';
import { converterDeps } from '../../columnar/converter';
import { columnarRuntime } from '../../columnar/runtime';
import { checkpointsPrefix, streamsOfCheckpointKeys } from '../../core/layout';
import { parseTimeBound } from '../../core/time-bound';
import { CommandFailure, formatBytes, info, table, timeOption } from '../output';

export interface ColumnarOptions {
  local?: boolean;
  stream?: string[];
  from?: string;
  to?: string;
  includeOpen?: boolean;
  json?: boolean;
}

export interface ColumnarReport {
  streams: string[];
  hours: ConvertHourResult[];
  /** Hours left for another run (RESERVOIR_COLUMNAR_HOURS_PER_RUN). */
  deferred: number;
  failures: { stream: string; dt: string; hr: string; error: string }[];
}

/**
 * `reservoir columnar --local`: converts the closed hours of the archive (with --include-open, the
 * open ones too) whose Parquet is missing or stale, in-process against RESERVOIR_BUCKET. Archives
 * written before the columnar conversion existed are converted the same way.
 */
export async function columnarCommand(options: ColumnarOptions): Promise<ColumnarReport> {
  if (!options.local)
    throw new CommandFailure(
      'columnar: only --local for now (a deployed stack converts closed hours in every archive run)',
    );
  const from = timeOption(options.from, '--from');
  const to = timeOption(options.to, '--to');
  const { config, store } = columnarRuntime();
  const deps = converterDeps();
  const streams = options.stream?.length
    ? options.stream
    : streamsOfCheckpointKeys(await store.listKeys(checkpointsPrefix(config.prefix)));
  const plan = await planColumnar(store, config.prefix, streams, {
    includeOpen: Boolean(options.includeOpen),
    ...(from ? { fromMs: parseTimeBound(from) } : {}),
    ...(to ? { toMs: parseTimeBound(to) } : {}),
  });
  const report: ColumnarReport = { streams, hours: [], deferred: plan.deferred, failures: [] };
  for (const hour of plan.hours) {
    try {
      report.hours.push(await convertHour(deps, config.prefix, hour));
    } catch (error) {
      report.failures.push({ ...hour, error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report);
  if (report.failures.length > 0)
    throw new CommandFailure(
      `columnar: ${report.failures.length} hour(s) failed: ${report.failures[0]!.error}`,
    );
  return report;
}

function printReport(report: ColumnarReport): void {
  if (report.hours.length === 0 && report.failures.length === 0) {
    info(`columnar: nothing to convert in ${report.streams.length} stream(s)`);
    return;
  }
  const rows = [
    ...report.hours.map((h) => [
      h.stream,
      `${h.dt} ${h.hr}h`,
      h.status,
      h.records,
      formatBytes(h.lineBytes),
      formatBytes(h.parquetBytes),
      h.generation ?? '',
    ]),
    ...report.failures.map((f) => [f.stream, `${f.dt} ${f.hr}h`, 'failed', 0, '', '', f.error]),
  ];
  process.stdout.write(
    table(
      ['stream', 'hour', 'status', 'records', 'JSONL', 'Parquet', 'generation'],
      rows as (string | number)[][],
    ),
  );
  if (report.deferred > 0) info(`${report.deferred} more hour(s) left for the next run`);
}
