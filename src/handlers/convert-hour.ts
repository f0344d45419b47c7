import { archiveRunFiles } from '../archive/run-files';
import { convertHour } from '../columnar/convert-hour';
import { converterDeps } from '../columnar/converter';
import { columnarRuntime } from '../columnar/runtime';
import type { ArchiveHour, HourConversionOutcome } from '../core/columnar';
import { recordHourConversion } from '../telemetry/workflow-metrics';
import { passThrough, taskHandler } from './shared/task-handler';

/** ConvertHour: one hour of a stream's JSONL archive into a new Parquet generation (src/columnar/). */
export const handler = taskHandler(
  passThrough<{ runId: string; hour: ArchiveHour }>,
  async (event, _context, tools) => {
    const { store, config } = columnarRuntime();
    const deps = converterDeps();
    const result = await convertHour(deps, config.prefix, event.hour);
    const outcome: HourConversionOutcome = {
      ...event.hour,
      status: result.status,
      records: result.records,
      ...(result.generation ? { generation: result.generation } : {}),
    };
    await store.putJson(archiveRunFiles(config.prefix, event.runId).columnarResult(event.hour), outcome);
    if (result.status === 'converted') recordHourConversion(tools.metrics, { ...event.hour, failed: false });
    return outcome;
  },
  { logKeys: (event) => ({ stream: event.hour.stream, hour: `${event.hour.dt}T${event.hour.hr}` }) },
);
