import { randomUUID } from 'node:crypto';
import type { CompactionSummary } from '../../compaction/cleanup';
import { ExecutionFailedError, runLocalStateMachine, type TaskEvent } from '../../local/state-machine-runner';
import { archiveLocation } from '../archive-location';
import { requireKnownStreams } from '../known-streams';
import { CommandFailure, formatBytes, info, timeOption } from '../output';
import { ProgressBar } from '../progress-bar';

export interface CompactOptions {
  local?: boolean;
  stream: string;
  from?: string;
  to?: string;
  filter?: string;
  filterStage?: 'before' | 'after';
  tombstone?: string;
  includeLive?: boolean;
  out?: string;
  json?: boolean;
}

type CompactOutput = Omit<CompactionSummary, 'outputs'> & { outputs: number; outPrefix: string };

function parseJson(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CommandFailure(`${flag}: not JSON (${(error as Error).message})`);
  }
}

/** `reservoir compact`: materialises the last record per key of a stream under --out, without replaying it. */
export async function compactCommand(options: CompactOptions): Promise<CompactOutput> {
  if (!options.local) throw new CommandFailure('reservoir compact runs in-process for now: add --local');
  await requireKnownStreams([options.stream], await archiveLocation(options));
  const out = options.out ? (options.out.endsWith('/') ? options.out : `${options.out}/`) : undefined;
  const request = Object.fromEntries(
    Object.entries({
      stream: options.stream,
      from: timeOption(options.from, '--from'),
      to: timeOption(options.to, '--to'),
      filter: parseJson('--filter', options.filter),
      filterStage: options.filterStage,
      tombstone: parseJson('--tombstone', options.tombstone),
      includeLive: options.includeLive,
      outPrefix: out?.replace(/^\/+/, ''),
    }).filter(([, value]) => value !== undefined),
  );
  const executionName =
    `compact-${options.stream}-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`.slice(
      0,
      80,
    );
  const bars = { chunks: new ProgressBar('partition'), partitions: new ProgressBar('merge') };
  let chunksDone = 0;
  let partitionsDone = 0;
  const onTask = (event: TaskEvent) => {
    if (event.state === 'PlanCompaction' && event.output) {
      const plan = event.output as {
        inputs: number;
        partitions: number;
        chunkIndexes: number[];
        estimatedRecords: number;
      };
      info(
        `planned: ${plan.inputs} input(s) in ${plan.chunkIndexes.length} chunk(s), ${plan.partitions} partition(s), ~${plan.estimatedRecords} records`,
      );
      bars.chunks.setTotal(plan.chunkIndexes.length);
      bars.partitions.setTotal(plan.partitions);
    }
    if (event.state === 'CompactChunk' && event.output) bars.chunks.update(++chunksDone);
    if (event.state === 'MergePartition' && event.output) {
      if (partitionsDone === 0) bars.chunks.done();
      bars.partitions.update(++partitionsDone);
    }
  };
  try {
    const result = (await runLocalStateMachine('compact', request, {
      executionName,
      onTask,
    })) as CompactOutput;
    bars.partitions.done();
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      info(
        `compacted ${options.stream}: ${result.records} record(s) for ${result.keys} key(s) (${result.tombstoned} deleted by tombstones) ` +
          `in ${result.outputs} object(s), ${formatBytes(result.bytes)}, under ${result.outPrefix}`,
      );
    }
    return result;
  } catch (error) {
    bars.partitions.done();
    if (error instanceof ExecutionFailedError)
      throw new CommandFailure(`compact failed: ${error.error}: ${error.causeText}`);
    throw error;
  }
}
