import { archiveRunFiles } from '../archive/run-files';
import { columnarRuntime } from '../columnar/runtime';
import type { ArchiveHour, HourConversionOutcome } from '../core/columnar';
import { causeMessage } from '../core/error-cause';
import { recordHourConversion } from '../telemetry/workflow-metrics';
import { passThrough, taskHandler } from './shared/task-handler';

/** RecordConversionFailure: ConvertHour failed for good; the summary warns, the next run tries again. */
export const handler = taskHandler(
  passThrough<{ runId: string; hour: ArchiveHour; error: { Error?: string; Cause?: string } }>,
  async (event, _context, tools) => {
    const { store, config } = columnarRuntime();
    const outcome: HourConversionOutcome = {
      ...event.hour,
      status: 'failed',
      records: 0,
      error: { name: event.error.Error ?? 'Error', message: causeMessage(event.error.Cause) },
    };
    await store.putJson(archiveRunFiles(config.prefix, event.runId).columnarResult(event.hour), outcome);
    recordHourConversion(tools.metrics, { ...event.hour, failed: true });
    return { recorded: true };
  },
);
