import { randomUUID } from 'node:crypto';
import { archiveRunFiles } from '../../archive/run-files';
import { archiveRuntime } from '../../archive/runtime';
import type { ArchiveSummary } from '../../core/archive-summary';
import { ExecutionFailedError, runLocalStateMachine } from '../../local/state-machine-runner';
import { archiveProgress, printArchiveSummary } from '../archive-report';
import { followDeployedExecution } from '../deployed';
import { CommandFailure } from '../output';

export interface ArchiveOptions {
  local?: boolean;
  stream?: string[];
  json?: boolean;
  stage?: string;
}

/** Execution names say what ran: archive-<stream or "all">-<time>. */
export function archiveExecutionName(streams: string[] | undefined, now = new Date()): string {
  const what =
    streams && streams.length === 1
      ? streams[0]!
      : streams && streams.length > 1
        ? `${streams.length}-streams`
        : 'all';
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `archive-${what}-${time}-${randomUUID().slice(0, 8)}`.slice(0, 80);
}

/** `reservoir archive`: runs the archive state machine locally (--local) or on AWS, and reports. */
export async function archiveCommand(options: ArchiveOptions): Promise<ArchiveSummary> {
  const input = options.stream && options.stream.length > 0 ? { streams: options.stream } : {};
  const executionName = archiveExecutionName(options.stream);
  const summary = options.local
    ? await runLocally(executionName, input)
    : ((await followDeployedExecution({
        stateMachine: 'archive',
        stage: options.stage,
        executionName,
        input,
        progress: async (store, prefix) => {
          const finished = await store.listKeys(archiveRunFiles(prefix, executionName).shardResults);
          return `${finished.length} shard(s) finished`;
        },
      })) as ArchiveSummary);
  if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else printArchiveSummary(summary);
  return summary;
}

async function runLocally(executionName: string, input: object): Promise<ArchiveSummary> {
  try {
    return (await runLocalStateMachine('archive', input, {
      executionName,
      onTask: archiveProgress,
    })) as ArchiveSummary;
  } catch (error) {
    if (!(error instanceof ExecutionFailedError)) throw error;
    // Shards that failed are in the summary next to those that were archived: show it, then fail.
    const { store, config } = archiveRuntime();
    const stored = await store.getJson<ArchiveSummary>(archiveRunFiles(config.prefix, executionName).summary);
    if (stored && stored.value.errorName) printArchiveSummary(stored.value);
    throw new CommandFailure(`archive failed: ${error.error}: ${error.causeText}`);
  }
}
