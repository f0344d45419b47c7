/**
 * `reservoir replay --plan`: what a replay will move, how long it takes at the target's write
 * capacity (and at its pace), and what it costs — before anything moves. Pure arithmetic over the
 * stored plan, the target's capacity and the price table of `reservoir cost`.
 */
import type { CostLine, PriceTable } from './cost-model';
import { REPLAY_MAX_CONCURRENCY, type ReplayPace } from './replay-pace';

const MIB = 1024 * 1024;
const GIB = 1024 ** 3;

/** Per shard, AWS's write limits (both capacity modes). */
export const SHARD_WRITE = { recordsPerSecond: 1000, bytesPerSecond: MIB } as const;

/**
 * An on-demand stream's write capacity when nothing says more: a new on-demand stream takes
 * 4 MB/s (4,000 records/s) and scales to twice its previous peak within 15 minutes.
 */
export const ON_DEMAND_DEFAULT_WRITE = { recordsPerSecond: 4000, bytesPerSecond: 4 * MIB } as const;

/** PUT payload units are 25 KB chunks of a record (provisioned streams). */
const PUT_PAYLOAD_UNIT_BYTES = 25 * 1024;
/** On-demand data-in is billed per record rounded up to the KiB. */
const ON_DEMAND_ROUNDING_BYTES = 1024;

export type TargetCapacity =
  { mode: 'provisioned'; openShards: number } | { mode: 'on-demand'; openShards: number };

export interface WriteCapacity {
  mode: TargetCapacity['mode'];
  openShards: number;
  recordsPerSecond: number;
  bytesPerSecond: number;
  note?: string;
}

export function writeCapacity(target: TargetCapacity): WriteCapacity {
  if (target.mode === 'on-demand') {
    return {
      ...target,
      ...ON_DEMAND_DEFAULT_WRITE,
      note: 'on-demand: the default 4 MB/s; the stream scales to twice its previous peak within 15 minutes',
    };
  }
  return {
    ...target,
    recordsPerSecond: target.openShards * SHARD_WRITE.recordsPerSecond,
    bytesPerSecond: target.openShards * SHARD_WRITE.bytesPerSecond,
  };
}

export interface ReplayEstimateInput {
  /** Estimated from the archiver's records per compressed byte (checkpoint totals). */
  records: number;
  /** Mean bytes put per record: payload (or envelope) plus partition key. */
  recordBytes: number;
  items: number;
  pages: number;
  target: TargetCapacity;
  pace?: ReplayPace;
  /** Arrival times in bounds, first to last (ms): a speedup replays them in span / speedup. */
  arrivalSpanMs: number | null;
  /** The replayItem function's memory (serverless.yml). */
  itemMemoryMb: number;
  /** How long one ReplayItem invocation works before it returns and is invoked again. */
  invocationBudgetMs: number;
}

export interface ReplayEstimate {
  capacity: WriteCapacity;
  /** At the target's capacity alone (what an unpaced replay approaches). */
  atCapacityMs: number;
  /** At the pace, never faster than the capacity; null when the replay is not paced. */
  atPaceMs: number | null;
  /** The duration the cost is computed for: at pace when paced, else at capacity. */
  expectedMs: number;
  invocations: number;
  transitions: number;
  lines: CostLine[];
  total: number;
}

/**
 * State transitions of one replay execution (statemachines/replay.asl.yml): ValidateReplay,
 * Compacted, PlanReplay, AnyItems, FirstPage, SummarizeReplay, AllItemsReplayed, ReplayComplete;
 * per page LoadReplayPage, ReplayItems, NextPage, MorePages; per item (a child execution)
 * ReplayItem and ItemDone per invocation, then ItemReplayed.
 */
export function replayRunTransitions(pages: number, items: number, invocations: number): number {
  return 8 + 4 * pages + 2 * invocations + items;
}

export function estimateReplay(input: ReplayEstimateInput, prices: PriceTable): ReplayEstimate {
  const capacity = writeCapacity(input.target);
  const bytes = input.records * input.recordBytes;
  const atCapacityMs =
    1000 *
    Math.max(
      capacity.recordsPerSecond > 0 ? input.records / capacity.recordsPerSecond : 0,
      capacity.bytesPerSecond > 0 ? bytes / capacity.bytesPerSecond : 0,
    );
  let atPaceMs: number | null = null;
  if (input.pace && 'speedup' in input.pace)
    atPaceMs = Math.max(atCapacityMs, (input.arrivalSpanMs ?? 0) / input.pace.speedup);
  if (input.pace && 'recordsPerSecond' in input.pace)
    atPaceMs = Math.max(atCapacityMs, (1000 * input.records) / input.pace.recordsPerSecond);
  const expectedMs = atPaceMs ?? atCapacityMs;

  // Items run MaxConcurrency at a time; each is busy (or waiting on its pace) for its share.
  const concurrent = Math.max(1, Math.min(input.items, REPLAY_MAX_CONCURRENCY));
  const itemMs = input.items > 0 ? (expectedMs * concurrent) / input.items : 0;
  const invocationsPerItem = Math.max(1, Math.ceil(itemMs / input.invocationBudgetMs));
  const invocations = input.items * invocationsPerItem;
  const gbSeconds = (concurrent * expectedMs * (input.itemMemoryMb / 1024)) / 1000;
  const transitions = replayRunTransitions(input.pages, input.items, invocations);

  const lines: CostLine[] = [
    {
      item: 'Lambda ReplayItem compute',
      quantity: round(gbSeconds, 1),
      unit: 'GB-s',
      usd: gbSeconds * prices.lambda.gbSecond,
    },
    {
      item: 'Lambda requests',
      quantity: invocations + 4 + input.pages,
      unit: 'requests',
      usd: ((invocations + 4 + input.pages) / 1e6) * prices.lambda.requestsPerMillion,
    },
    {
      item: 'Step Functions transitions',
      quantity: transitions,
      unit: 'transitions',
      usd: (transitions / 1000) * prices.stepFunctions.standardTransitionsPerThousand,
    },
    kinesisPutLine(input, prices),
  ];
  return {
    capacity,
    atCapacityMs,
    atPaceMs,
    expectedMs,
    invocations,
    transitions,
    lines,
    total: lines.reduce((sum, line) => sum + line.usd, 0),
  };
}

/** Provisioned: PUT payload units (25 KB chunks of each record); on-demand: GB in, records rounded up to 1 KiB. */
function kinesisPutLine(input: ReplayEstimateInput, prices: PriceTable): CostLine {
  const size = Math.max(1, input.recordBytes);
  if (input.target.mode === 'on-demand') {
    const gb = (input.records * Math.ceil(size / ON_DEMAND_ROUNDING_BYTES) * ON_DEMAND_ROUNDING_BYTES) / GIB;
    return {
      item: 'Kinesis data in (on-demand Standard)',
      quantity: round(gb, 3),
      unit: 'GB',
      usd: gb * prices.kinesisOnDemand.standard.ingestGb,
    };
  }
  const units = input.records * Math.ceil(size / PUT_PAYLOAD_UNIT_BYTES);
  return {
    item: 'Kinesis PUT payload units',
    quantity: units,
    unit: 'units',
    usd: (units / 1e6) * (prices.kinesis.putPayloadUnitsPerMillion ?? 0),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
