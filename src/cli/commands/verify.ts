import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { s3Client } from '../../aws/clients';
import { S3BucketLifecycle } from '../../aws/s3-adapter';
import { S3ParquetRecordSource } from '../../columnar/parquet-reader';
import { checkpointsPrefix, streamsOfCheckpointKeys } from '../../core/layout';
import { parseTimeBound } from '../../core/time-bound';
import { HOUR_STATUSES, isVerified, type HourStatus, type StreamVerification } from '../../core/verify';
import { verifyArchivedStream } from '../../verify/verify-stream';
import { archiveLocation } from '../archive-location';
import { requireKnownStreams } from '../known-streams';
import { CommandFailure, info, table, timeOption } from '../output';

export interface VerifyCommandOptions {
  local?: boolean;
  stage?: string;
  stream?: string[];
  from?: string;
  to?: string;
  deep?: boolean;
  json?: boolean;
}

export interface VerifyReport {
  generatedAt: string;
  deep: boolean;
  from: string | null;
  to: string | null;
  /** Every hour full (or an acknowledged gap). */
  ok: boolean;
  streams: StreamVerification[];
}

/** The exit code when an hour is not full: the archive has a problem (1 is a failed command). */
export const NOT_VERIFIED_EXIT_CODE = 2;

const LABELS: Record<HourStatus, string> = {
  full: 'full',
  gap: 'gap (acknowledged)',
  partial: 'partial',
  missing: 'missing',
  corrupt: 'corrupt',
};

/**
 * `reservoir verify`: per stream, shard and hour, is the archive complete (object chains, the
 * checkpoint, the manifests' files) and, with --deep, intact (every object and Parquet file read)?
 */
export async function verifyCommand(options: VerifyCommandOptions): Promise<VerifyReport> {
  const from = timeOption(options.from, '--from');
  const to = timeOption(options.to, '--to');
  const location = await archiveLocation(options);
  await requireKnownStreams(options.stream, location);
  const { store, prefix } = location;
  const streams = options.stream?.length
    ? options.stream
    : streamsOfCheckpointKeys(await store.listKeys(checkpointsPrefix(prefix)));
  const deps = {
    store,
    prefix,
    lifecycle: new S3BucketLifecycle(s3Client(), location.bucket),
    ...(options.deep
      ? { parquet: new S3ParquetRecordSource(store, { tmpDir: join(tmpdir(), 'reservoir-verify') }) }
      : {}),
  };
  const results: StreamVerification[] = [];
  for (const stream of streams)
    results.push(
      await verifyArchivedStream(deps, stream, {
        deep: Boolean(options.deep),
        ...(from ? { fromMs: parseTimeBound(from) } : {}),
        ...(to ? { toMs: parseTimeBound(to) } : {}),
      }),
    );
  const report: VerifyReport = {
    generatedAt: new Date().toISOString(),
    deep: Boolean(options.deep),
    from: from ?? null,
    to: to ?? null,
    ok: results.every(isVerified),
    streams: results,
  };
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report);
  const failing = results.filter((r) => !isVerified(r));
  if (failing.length > 0) {
    const hours = failing.reduce((sum, r) => sum + r.hours.filter((h) => !isVerified(h)).length, 0);
    throw new CommandFailure(
      `verify: ${hours} hour(s) not full in ${failing.map((r) => r.stream).join(', ')}`,
      NOT_VERIFIED_EXIT_CODE,
    );
  }
  return report;
}

function printReport(report: VerifyReport): void {
  if (report.streams.length === 0) {
    info('verify: no archived streams');
    return;
  }
  for (const stream of report.streams) {
    const counts = HOUR_STATUSES.map((s) => `${stream.counts[s]} ${LABELS[s]}`).join(', ');
    const { proven, unproven } = stream.joins;
    process.stdout.write(
      `${stream.stream}: ${LABELS[stream.status]}: ${stream.hours.length} hour(s): ${counts}; ` +
        `joins between objects: ${proven} proven${unproven ? `, ${unproven} unproven (objects without chain metadata)` : ''}` +
        `${report.deep ? '; every object read' : ''}\n`,
    );
    const findings = stream.hours
      .filter((h) => h.status !== 'full')
      .flatMap((h) => h.findings.map((f) => ({ hour: h, finding: f })));
    if (findings.length > 0) {
      const rows = findings.map(({ hour, finding }) => [
        `${hour.dt} ${hour.hr}h`,
        LABELS[hour.status],
        hour.objects,
        hour.converted ? 'yes' : 'no',
        finding.shardId ?? '-',
      ]);
      // The finding last and unpadded: it is a sentence.
      const lines = table(['hour', 'status', 'objects', 'parquet', 'shard'], rows).split('\n');
      const text = lines.map(
        (line, i) => `${line}  ${i === 0 ? 'finding' : findings[i - 1]!.finding.detail}`,
      );
      process.stdout.write(`${text.join('\n')}\n`);
    }
    for (const note of stream.notes) info(`note: ${stream.stream}: ${note}`);
  }
}
