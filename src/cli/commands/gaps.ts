import { userInfo } from 'node:os';
import { acknowledgeGap, listGaps, type AcknowledgeResult, type GapReport } from '../../archive/gaps';
import { kinesisClient } from '../../aws/clients';
import { KinesisShardReader } from '../../aws/kinesis-adapter';
import { loadReadConfig } from '../../config/read-config';
import { ReservoirError } from '../../core/errors';
import { missingRange } from '../../core/gap-ledger';
import { processReadBudget, sleep } from '../../reading/process-budget';
import { archiveLocation } from '../archive-location';
import { requireKnownStreams } from '../known-streams';
import { CommandFailure, info, table } from '../output';

export interface GapsOptions {
  local?: boolean;
  stream?: string[];
  json?: boolean;
  stage?: string;
}

export interface GapsAcknowledgeOptions {
  local?: boolean;
  stream: string;
  shard: string;
  note?: string;
  /** Who acknowledges (default: the local user name). */
  by?: string;
  json?: boolean;
  stage?: string;
}

/** `reservoir gaps`: open data gaps (the shard fails every run) and acknowledged ones (the ledger). */
export async function gapsCommand(options: GapsOptions): Promise<GapReport> {
  const location = await archiveLocation(options);
  await requireKnownStreams(options.stream, location);
  const report = await listGaps(location.store, location.prefix, options.stream);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatGaps(report)}\n`);
  return report;
}

/**
 * `reservoir gaps acknowledge`: records the shard's open gap in the ledger and moves its checkpoint
 * past it; the next archive run goes on from the oldest record left (and then the shard's children).
 */
export async function gapsAcknowledgeCommand(options: GapsAcknowledgeOptions): Promise<AcknowledgeResult> {
  const location = await archiveLocation(options);
  const read = loadReadConfig();
  try {
    const result = await acknowledgeGap(
      {
        store: location.store,
        prefix: location.prefix,
        read: {
          reader: new KinesisShardReader(kinesisClient()),
          budget: processReadBudget(),
          now: Date.now,
          sleep,
        },
        readSettings: read,
        rate: read.defaultRate,
      },
      {
        stream: options.stream,
        shardId: options.shard,
        by: options.by ?? localUser(),
        note: options.note ?? null,
      },
    );
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(
        `acknowledged ${result.gap.stream}/${result.gap.shardId}: ${missingRange(result.gap)}\n` +
          `  ledger: s3://${location.bucket}/${result.key}\n`,
      );
      info(`the next archive run continues from ${result.resumesAt} (then the shard's children)`);
    }
    return result;
  } catch (error) {
    if (error instanceof ReservoirError && error.name === 'ValidationError')
      throw new CommandFailure(error.message);
    throw error;
  }
}

export function formatGaps(report: GapReport): string {
  if (report.open.length === 0 && report.acknowledged.length === 0) return 'no data gaps';
  const rows = [
    ...report.open.map((gap) => [
      'open',
      gap.stream,
      gap.shardId,
      missingRange(gap),
      gap.firstDetected,
      gap.lastSeen,
      '-',
    ]),
    ...report.acknowledged.map((gap) => [
      'acknowledged',
      gap.stream,
      gap.shardId,
      missingRange(gap),
      gap.firstDetected,
      gap.lastSeen,
      [gap.acknowledgedAt, gap.acknowledgedBy, gap.note].filter(Boolean).join(', '),
    ]),
  ];
  const lines = [
    table(
      ['state', 'stream', 'shard', 'missing records', 'first detected', 'last seen', 'acknowledged'],
      rows,
    ),
  ];
  if (report.open.length > 0)
    lines.push(
      '',
      'an open gap fails its shard in every archive run (and waits its children): ' +
        '`reservoir gaps acknowledge --stream S --shard ID [--note TEXT]` records it and lets archiving go on',
    );
  return lines.join('\n');
}

function localUser(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    return process.env.USER ?? null;
  }
}
