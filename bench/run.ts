import { cpus } from 'node:os';
import { info, table } from '../src/cli/output';
import { loadArchiveConfig } from '../src/config/archive-config';
import { envInt } from '../src/config/env';
import { codecBench, type CodecResult } from './codec';
import { endToEndBench, type Round } from './end-to-end';

// Goals from the issue. MB here is MiB, the unit of Kinesis's per-shard limits.
const MB = 1024 * 1024;
const SHARD_READ_CEILING = 2; // MB/s per shard (GetRecords)
const CODEC_GOAL = 25 * SHARD_READ_CEILING;
const RATIO_GOAL = 0.8;

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const perSecond = (amount: number, seconds: number) => amount / seconds;

function codecReport(results: CodecResult[], defaultLevel: number, maxObjectBytes: number): string {
  const rows = results.map((r) => [
    r.level === defaultLevel ? `${r.level} (default)` : String(r.level),
    r.records,
    perSecond(r.payloadBytes / MB, r.seconds).toFixed(1),
    perSecond(r.lineBytes / MB, r.seconds).toFixed(1),
    `${Math.round((100 * r.gzipSeconds) / r.seconds)}%`,
    `${(r.lineBytes / r.compressedBytes).toFixed(1)}x`,
  ]);
  const atDefault = results.find((r) => r.level === defaultLevel)!;
  const rate = perSecond(atDefault.payloadBytes / MB, atDefault.seconds);
  return [
    `1. encode + compress, one thread: toUserRecords -> BlockBuilder.add -> blockBody -> gzipSync (~1 KB JSON records, ${maxObjectBytes / MB} MB blocks)`,
    table(['gzip level', 'records', 'payload MB/s', 'line MB/s', 'in gzip', 'ratio'], rows),
    `goal >= ${CODEC_GOAL} MB/s of payload per core at level ${defaultLevel}: ${verdict(rate >= CODEC_GOAL)} ` +
      `(${rate.toFixed(1)} MB/s = ${(rate / SHARD_READ_CEILING).toFixed(0)}x a shard's ${SHARD_READ_CEILING} MB/s read ceiling)`,
  ].join('\n');
}

function endToEndReport(rounds: Round[], records: number, shards: number): string {
  const rows = rounds.map((r, i) => [
    i + 1,
    r.first,
    Math.round(records / r.bareSeconds),
    Math.round(records / r.archiveSeconds),
    r.archiveObjects,
    (r.bareSeconds / r.archiveSeconds).toFixed(2),
  ]);
  const bare = (records * rounds.length) / rounds.reduce((sum, r) => sum + r.bareSeconds, 0);
  const archived = (records * rounds.length) / rounds.reduce((sum, r) => sum + r.archiveSeconds, 0);
  rows.push(['all', '', Math.round(bare), Math.round(archived), '', (archived / bare).toFixed(2)]);
  return [
    `2. end to end on kinesalite + s3rver: ${records} records (~1 KB) in ${shards} shards per round, a fresh stream each round,`,
    '   both loops with no poll pacing (RESERVOIR_POLL_INTERVAL_MS=0), GetRecords Limit 10000, shards read concurrently',
    table(['round', 'first', 'bare rec/s', 'archive rec/s', 'objects', 'ratio'], rows),
    `goal archive/bare >= ${RATIO_GOAL}: ${verdict(archived / bare >= RATIO_GOAL)} (${(archived / bare).toFixed(2)})`,
  ].join('\n');
}

/** `npm run bench`: the two throughput figures of the issue, printed to stdout. */
export async function benchCommand(): Promise<void> {
  const config = loadArchiveConfig();
  const levels = [...new Set([1, config.gzipLevel, 9])].sort((a, b) => a - b);
  const records = envInt('BENCH_RECORDS', 100_000, 1);
  const shards = envInt('BENCH_SHARDS', 4, 1);
  const rounds = envInt('BENCH_ROUNDS', 4, 1);

  info(`encode + compress at gzip levels ${levels.join(', ')}`);
  const codec = codecBench(levels, {
    maxObjectBytes: config.maxObjectBytes,
    targetBytes: 200 * MB,
    maxSeconds: 4,
  });
  const endToEnd = await endToEndBench({ records, shards, rounds, warmupRecords: 20_000 });

  const cpu = cpus();
  process.stdout.write(
    [
      `reservoir bench: Node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}; MB = 2^20 bytes`,
      '',
      codecReport(codec, config.gzipLevel, config.maxObjectBytes),
      '',
      endToEndReport(endToEnd, records, shards),
      '',
    ].join('\n'),
  );
}
