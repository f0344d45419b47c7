import { cpus, loadavg } from 'node:os';
import { info, table } from '../src/cli/output';
import { loadArchiveConfig } from '../src/config/archive-config';
import { envInt } from '../src/config/env';
import { codecBench, type CodecResult } from './codec';
import { END_TO_END_READ_LIMITS, endToEndBench, type Round } from './end-to-end';
import { readBudgetBench, readBudgetBenchReport } from './read-budget';
import { producerBench, producerBenchOptions, producerBenchReport } from './producer';
import { pacedReplayBench, pacedReplayReport, replayBench, type ReplayBenchResult } from './replay';
import { compactionBench, compactionBenchReport } from './compaction';
import { columnarBenchOn, columnarBenchReport } from './columnar';
import { sqlBenchOn, sqlBenchReport, withBenchArchive } from './sql';

// Goals from the issue. MB here is MiB, the unit of Kinesis's per-shard limits.
const MB = 1024 * 1024;
const SHARD_READ_CEILING = 2; // MB/s per shard (GetRecords)
const CODEC_GOAL = 25 * SHARD_READ_CEILING;
const RATIO_GOAL = 0.8;
const REPLAY_GOAL = 0.9;

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
  const perRecord = (cpuSeconds: number) => Math.round((cpuSeconds * 1e6) / records);
  const rows = rounds.map((r, i) => [
    i + 1,
    r.first,
    Math.round(records / r.bareSeconds),
    Math.round(records / r.archiveSeconds),
    r.archiveObjects,
    (r.bareSeconds / r.archiveSeconds).toFixed(2),
    perRecord(r.bareCpuSeconds),
    perRecord(r.archiveCpuSeconds),
    r.bareThrottled,
    r.archiveThrottled,
  ]);
  const sum = (pick: (r: Round) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  const bare = (records * rounds.length) / sum((r) => r.bareSeconds);
  const archived = (records * rounds.length) / sum((r) => r.archiveSeconds);
  const bareCpu = sum((r) => r.bareCpuSeconds) / rounds.length;
  const archiveCpu = sum((r) => r.archiveCpuSeconds) / rounds.length;
  rows.push([
    'all',
    '',
    Math.round(bare),
    Math.round(archived),
    '',
    (archived / bare).toFixed(2),
    perRecord(bareCpu),
    perRecord(archiveCpu),
    sum((r) => r.bareThrottled),
    sum((r) => r.archiveThrottled),
  ]);
  const { callsPerSecond, bytesPerSecond } = END_TO_END_READ_LIMITS;
  const shardBytes = sum((r) => r.busiestShardBytes) / rounds.length;
  const archiveFloor = shardBytes / bytesPerSecond;
  const bareFloor = Math.max(0, shardBytes - bytesPerSecond) / bytesPerSecond;
  return [
    `2. end to end on kinesalite + s3rver: ${records} records (~1 KB) in ${shards} shards per round, a fresh stream each round,`,
    `   both loops limited to a shard's whole read limits, ${callsPerSecond} GetRecords calls/s and ${bytesPerSecond / MB} MiB/s ` +
      'per shard, by the read-limiting proxy in front of kinesalite:',
    `   the archive at its budget with share 1 (RESERVOIR_READ_CALLS_PER_SECOND=${callsPerSecond}, ` +
      `RESERVOIR_READ_MB_PER_SECOND=${bytesPerSecond / MB}); the bare loop unpaced, retrying throttled calls after a short backoff;`,
    '   GetRecords Limit 10000, shards read concurrently, a second between the two loops (each starts on full buckets)',
    table(
      [
        'round',
        'first',
        'bare rec/s',
        'archive rec/s',
        'objects',
        'ratio',
        'bare CPU us/rec',
        'archive CPU us/rec',
        'bare throttled',
        'archive throttled',
      ],
      rows,
    ),
    `goal archive/bare >= ${RATIO_GOAL}: ${verdict(archived / bare >= RATIO_GOAL)} (${(archived / bare).toFixed(2)}; ` +
      `CPU per record bare/archive ${(bareCpu / archiveCpu).toFixed(2)})`,
    // Which bound holds: the shard's read limits, or this process's one thread (kinesalite and the proxy run in it).
    `under the read limits alone a round's loops take at least: bare ${bareFloor.toFixed(1)} s, archive ${archiveFloor.toFixed(1)} s ` +
      `(the busiest shard's ${(shardBytes / MB).toFixed(1)} MB at ${bytesPerSecond / MB} MiB/s; the bare loop starts on a full bucket, ` +
      'the archive pays for every call); measured means: bare ' +
      `${(sum((r) => r.bareSeconds) / rounds.length).toFixed(1)} s, archive ${(sum((r) => r.archiveSeconds) / rounds.length).toFixed(1)} s.`,
    "Where the loops take longer, this process's one thread bounds them (kinesalite, the proxy, the SDK and the archiver",
    "run in it; other busy processes on the machine slow it): the ratio then follows CPU per record, the archive's own cost.",
  ].join('\n');
}

function replayReport(r: ReplayBenchResult, shards: number, perShard: number): string {
  const rate = r.put / r.seconds;
  // The proxy's token buckets start full (one second of capacity): count that burst against us.
  const fraction = r.put / (r.capacityPerSecond * r.seconds + r.capacityPerSecond);
  return [
    `3. replay of ${r.records} archived records into a ${shards}-shard target limited as AWS limits writes ` +
      `(${perShard} records/s and 1 MiB/s per shard, throttling proxy in front of kinesalite)`,
    table(
      [
        'put',
        'seconds',
        'records/s',
        'capacity/s',
        'fraction',
        'throttled retries',
        'lost',
        'order violations',
      ],
      [
        [
          r.put,
          r.seconds.toFixed(1),
          Math.round(rate),
          r.capacityPerSecond,
          fraction.toFixed(2),
          r.throttledRetries,
          r.lost,
          r.orderViolations,
        ],
      ],
    ),
    `goal >= ${REPLAY_GOAL} of capacity with lost = 0 and order violations = 0: ` +
      `${verdict(fraction >= REPLAY_GOAL && r.lost === 0 && r.orderViolations === 0)} (the fraction counts the whole run, planning included)`,
  ].join('\n');
}

/** The sections of `npm run bench`, in the order they run; BENCH_SECTIONS picks some (comma-separated). */
export const BENCH_SECTIONS = [
  'codec',
  'end-to-end',
  'replay',
  'compaction',
  'sql',
  'columnar',
  'read-budget',
  'producer',
  'paced-replay',
] as const;
type Section = (typeof BENCH_SECTIONS)[number];

export function selectedSections(value: string | undefined): Set<Section> {
  if (!value?.trim()) return new Set(BENCH_SECTIONS);
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(BENCH_SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_SECTIONS: unknown section(s) ${unknown.join(', ')}; use ${BENCH_SECTIONS.join(', ')}`,
    );
  return new Set(names as Section[]);
}

/** `npm run bench`: the throughput figures of the issues, printed to stdout. */
export async function benchCommand(): Promise<void> {
  const config = loadArchiveConfig();
  const sections = selectedSections(process.env.BENCH_SECTIONS);
  const loadBefore = loadavg()[0]!;
  const levels = [...new Set([1, config.gzipLevel, 9])].sort((a, b) => a - b);
  const records = envInt('BENCH_RECORDS', 100_000, 1);
  const shards = envInt('BENCH_SHARDS', 4, 1);
  const rounds = envInt('BENCH_ROUNDS', 4, 1);
  const replayShards = envInt('BENCH_REPLAY_SHARDS', 2, 1);
  const replayPerShard = envInt('BENCH_REPLAY_RECORDS_PER_SHARD_SECOND', 1000, 1);
  const reports: string[] = [];

  if (sections.has('codec')) {
    info(`encode + compress at gzip levels ${levels.join(', ')}`);
    const codec = codecBench(levels, {
      maxObjectBytes: config.maxObjectBytes,
      targetBytes: 200 * MB,
      maxSeconds: 4,
    });
    reports.push(codecReport(codec, config.gzipLevel, config.maxObjectBytes));
  }
  if (sections.has('end-to-end')) {
    const endToEnd = await endToEndBench({ records, shards, rounds, warmupRecords: 20_000 });
    reports.push(endToEndReport(endToEnd, records, shards));
  }
  // Run after the others as before (the replay figures are printed third).
  const later: string[] = [];
  if (sections.has('compaction')) later.push(compactionBenchReport(await compactionBench({ log: info })));
  // SQL and columnar share one generated archive: the columnar section converts it after the SQL section.
  if (sections.has('sql') || sections.has('columnar')) {
    await withBenchArchive({}, async (archive) => {
      const sql = sections.has('sql') ? await sqlBenchOn(archive) : undefined;
      if (sql) later.push(sqlBenchReport(sql));
      if (sections.has('columnar')) later.push(columnarBenchReport(await columnarBenchOn(archive, sql)));
    });
  }
  if (sections.has('read-budget')) {
    const readBudget = await readBudgetBench({
      records: envInt('BENCH_READ_RECORDS', 100_000, 1),
      shards: envInt('BENCH_READ_SHARDS', 4, 1),
      recordBytes: envInt('BENCH_READ_RECORD_BYTES', 1000, 140),
      productionCallsPerSecond: 1,
    });
    later.push(readBudgetBenchReport(readBudget));
  }
  if (sections.has('replay')) {
    const replay = await replayBench({
      records: envInt('BENCH_REPLAY_RECORDS', 60_000, 1),
      targetShards: replayShards,
      recordsPerSecondPerShard: replayPerShard,
    });
    reports.push(replayReport(replay, replayShards, replayPerShard));
  }
  if (sections.has('producer')) later.push(producerBenchReport(await producerBench(producerBenchOptions())));
  if (sections.has('paced-replay')) {
    const paced = await pacedReplayBench({
      spanSeconds: envInt('BENCH_PACE_SPAN_SECONDS', 60, 1),
      speedup: envInt('BENCH_PACE_SPEEDUP', 10, 1),
      recordsPerSecond: 20,
    });
    later.push(pacedReplayReport(paced));
  }
  reports.push(...later);

  const cpu = cpus();
  process.stdout.write(
    [
      `reservoir bench: Node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ` +
        `load average ${loadBefore.toFixed(1)} before / ${loadavg()[0]!.toFixed(1)} after; MB = 2^20 bytes`,
      '',
      ...reports.flatMap((report, i) => [numbered(report, i + 1), '']),
    ].join('\n'),
  );
}

/** Each report gets its place in the printed list (the first three carry a number of their own). */
function numbered(report: string, place: number): string {
  return /^\d+\. /.test(report) ? report.replace(/^\d+\. /, `${place}. `) : `${place}. ${report}`;
}
