/**
 * Compaction benchmark: generates archive objects locally (no emulators), then runs the
 * compaction workers as AWS would run them — every partition-phase chunk and every merge
 * partition in its OWN child process — so each worker's peak RSS is measured
 * (`process.resourceUsage().maxRSS`, reported by the child).
 *
 *   import { compactionBench, compactionBenchReport } from './compaction';
 *   process.stdout.write(compactionBenchReport(await compactionBench()));
 *
 * Sizes from the environment: BENCH_COMPACT_RECORDS (comma list, default "1000000,10000000"),
 * BENCH_COMPACT_KEYS (comma list, default records / 10), BENCH_COMPACT_PAYLOAD (bytes, default 200),
 * BENCH_COMPACT_CONCURRENCY (workers at a time, default the CPU count), BENCH_COMPACT_PARTITIONS
 * (force the partition count; default: the planner's choice), BENCH_COMPACT_BUFFER_MB (the partition
 * workers' buffer bound; default 64), BENCH_COMPACT_HEAP_MB (each
 * worker's --max-old-space-size; default Node's own), BENCH_COMPACT_WORKER_ARGS (more Node options for the
 * workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { cleanupCompaction } from '../src/compaction/cleanup';
import { mergePartition, type MergeResult, type MergeSettings } from '../src/compaction/merge-worker';
import {
  partitionChunk,
  type PartitionResult,
  type PartitionSettings,
} from '../src/compaction/partition-worker';
import { requireCompactionSpec, storeCompactionSpec } from '../src/compaction/plan';
import { planCompaction, type CompactionPlanOptions } from '../src/core/compaction-spec';
import { archiveObjectKey } from '../src/core/layout';
import type { ObjectStore, StoredJson } from '../src/core/ports';
import { serializeRecordLine } from '../src/core/record-line';

// ---------------------------------------------------------------------------------------------------------------
// A local-filesystem ObjectStore shared by the child processes (keys are paths under a root).

export class FileObjectStore implements ObjectStore {
  private tmp = 0;
  constructor(private readonly root: string) {}

  private path(key: string): string {
    return join(this.root, 'objects', key);
  }

  async getJson<T>(key: string): Promise<StoredJson<T> | null> {
    const body = await this.getObject(key);
    return body ? { value: JSON.parse(Buffer.from(body).toString('utf8')) as T, etag: '"file"' } : null;
  }
  async putJsonIfMatch(key: string, value: unknown, expectedEtag: string | null): Promise<string> {
    if ((expectedEtag === null) === (await this.exists(key)))
      throw new Error(`conditional write of ${key} failed`);
    await this.putJson(key, value);
    return '"file"';
  }
  async putJson(key: string, value: unknown): Promise<void> {
    await this.putObject(key, Buffer.from(JSON.stringify(value)));
  }
  /** Written aside, then renamed: readers and listings never see half an object. */
  async putObject(key: string, body: Uint8Array): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const aside = join(this.root, 'tmp', `${process.pid}-${this.tmp++}`);
    await mkdir(dirname(aside), { recursive: true });
    await writeFile(aside, body);
    await rename(aside, path);
  }
  async getObject(key: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
  async exists(key: string): Promise<boolean> {
    return (await this.getObject(key)) !== null;
  }
  /** The benchmark keeps no user metadata. */
  async getMetadata(key: string): Promise<Record<string, string> | null> {
    return (await this.exists(key)) ? {} : null;
  }
  async firstKey(prefix: string): Promise<string | null> {
    return (await this.listKeys(prefix)).sort()[0] ?? null;
  }
  async listKeys(prefix: string): Promise<string[]> {
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const keys: string[] = [];
    const walk = async (relative: string) => {
      let entries;
      try {
        entries = await readdir(this.path(relative), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const key = `${relative}${entry.name}`;
        if (entry.isDirectory()) {
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(`${key}/`);
        } else if (key.startsWith(prefix)) {
          keys.push(key);
        }
      }
    };
    await walk(base);
    return keys.sort();
  }
  async listObjects(prefix: string): Promise<{ key: string; bytes: number }[]> {
    const keys = await this.listKeys(prefix);
    return Promise.all(keys.map(async (key) => ({ key, bytes: (await stat(this.path(key))).size })));
  }
  async deleteKeys(keys: string[]): Promise<void> {
    for (const key of keys) await unlink(this.path(key)).catch(() => undefined);
  }
  /** Files have no tags, and nothing in the bench expires: tagging is a no-op. */
  async tagObjects(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------------------------
// Tasks run in child processes.

const PREFIX = 'bench/';
const STREAM = 'compact-bench';
const HOUR0 = Date.UTC(2024, 10, 21, 9, 0, 0);
const SEQUENCE_PREFIX = '4960000000000000000000000000000000000000';

interface DataShape {
  records: number;
  keys: number;
  payloadBytes: number;
  recordsPerObject: number;
  shards: number;
}

type Task =
  | { kind: 'generate'; root: string; shape: DataShape; objects: number[] }
  | { kind: 'partition'; root: string; runId: string; chunk: number; settings: Partial<PartitionSettings> }
  | { kind: 'merge'; root: string; runId: string; partition: number; settings: Partial<MergeSettings> };

interface TaskReport<R> {
  result: R;
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

/** mulberry32: a small, fast, seeded generator (data must be the same whatever the worker count). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = (() => {
  const next = random(42);
  return Array.from({ length: 1 << 16 }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join('');
})();

/** Writes archive objects: object o holds records [o × perObject, …) of shard o mod shards, keys uniform at random. */
async function generate(task: Extract<Task, { kind: 'generate' }>) {
  const store = new FileObjectStore(task.root);
  const { records, keys, payloadBytes, recordsPerObject, shards } = task.shape;
  const written: { key: string; bytes: number; records: number }[] = [];
  for (const o of task.objects) {
    const next = random(1000 + o);
    const shardId = `shardId-${String(o % shards).padStart(12, '0')}`;
    const first = o * recordsPerObject;
    const count = Math.min(recordsPerObject, records - first);
    const lines: string[] = [];
    let firstSequence = '';
    let lastSequence = '';
    for (let i = 0; i < count; i++) {
      const n = first + i;
      const key = `key-${Math.floor(next() * keys)}`;
      const head = `{"id":${n},"key":"${key}","v":"`;
      const padding = Math.max(0, payloadBytes - head.length - 2);
      const at = Math.floor(next() * (HEX.length - padding));
      const data = `${head}${HEX.slice(at, at + padding)}"}`;
      // 56 digits, growing along each shard, object after object.
      const counter = (Math.floor(o / shards) * recordsPerObject + i) * 7;
      const sequenceNumber = `${SEQUENCE_PREFIX}${String(counter).padStart(16, '0')}`;
      if (i === 0) firstSequence = sequenceNumber;
      lastSequence = sequenceNumber;
      const arrivalTimestamp = HOUR0 + Math.floor((n * 3_599_000) / records);
      // serializeRecordLine's text, built without its UTF-8 check (the payload is ASCII): generation is not what is measured.
      const line =
        `{"stream":"${STREAM}","shardId":"${shardId}","sequenceNumber":"${sequenceNumber}","subSequenceNumber":0,` +
        `"partitionKey":"${key}","arrivalTimestamp":${arrivalTimestamp},"data":${JSON.stringify(data)},"encoding":"utf8"}`;
      if (i === 0) {
        const expected = serializeRecordLine({
          stream: STREAM,
          shardId,
          sequenceNumber,
          subSequenceNumber: 0,
          partitionKey: key,
          arrivalTimestamp,
          data: Buffer.from(data),
        });
        if (line !== expected)
          throw new Error(`generated line differs from the archive's: ${line} vs ${expected}`);
      }
      lines.push(line);
    }
    lines.push('');
    const body = gzipSync(Buffer.from(lines.join('\n')), { level: 1 });
    const arrival = HOUR0 + Math.floor((first * 3_599_000) / records);
    const key = archiveObjectKey(PREFIX, STREAM, shardId, arrival, firstSequence, lastSequence);
    await store.putObject(key, body);
    written.push({ key, bytes: body.length, records: count });
  }
  return written;
}

async function runTask(task: Task): Promise<unknown> {
  const store = new FileObjectStore(task.root);
  switch (task.kind) {
    case 'generate':
      return generate(task);
    case 'partition':
      return partitionChunk(
        await requireCompactionSpec(store, PREFIX, task.runId),
        task.chunk,
        { store },
        task.settings,
      );
    case 'merge':
      return mergePartition(
        await requireCompactionSpec(store, PREFIX, task.runId),
        task.partition,
        { store },
        task.settings,
      );
  }
}

async function childMain(): Promise<void> {
  const task = JSON.parse(process.argv[3]!) as Task;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  try {
    const result = await runTask(task);
    const cpu = process.cpuUsage(cpuBefore);
    const report: TaskReport<unknown> = {
      result,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    process.send!({ ok: true, report }, () => process.exit(0));
  } catch (error) {
    process.send!({ ok: false, error: String((error as Error).stack ?? error) }, () => process.exit(1));
  }
}

/** Forks this file as a worker; resolves with the child's report. */
function inChild<R>(task: Task, heapMb: number | null): Promise<TaskReport<R>> {
  return new Promise((resolve, reject) => {
    const execArgv = ['--require', require.resolve('tsx/cjs')];
    if (heapMb) execArgv.push(`--max-old-space-size=${heapMb}`);
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the workers.
    execArgv.push(...(process.env.BENCH_COMPACT_WORKER_ARGS ?? '').split(' ').filter(Boolean));
    const child = fork(__filename, ['worker', JSON.stringify(task)], { execArgv, stdio: 'inherit' });
    let settled = false;
    child.on('message', (message: { ok: boolean; report?: TaskReport<R>; error?: string }) => {
      settled = true;
      if (message.ok) resolve(message.report!);
      else reject(new Error(`${task.kind} worker failed: ${message.error}`));
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`${task.kind} worker exited with ${code} before reporting`));
    });
  });
}

async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]!);
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark.

export interface CompactionBenchOptions {
  /** One round per size. */
  sizes: { records: number; keys: number }[];
  payloadBytes: number;
  recordsPerObject: number;
  shards: number;
  /** Worker processes at a time (a Map's concurrency). */
  concurrency: number;
  /** --max-old-space-size of each worker, or null for Node's default. */
  workerHeapMb: number | null;
  plan: Partial<CompactionPlanOptions>;
  partition: Partial<PartitionSettings>;
  merge: Partial<MergeSettings>;
  log: (line: string) => void;
}

export interface CompactionBenchRound {
  records: number;
  keys: number;
  objects: number;
  inputBytes: number;
  chunks: number;
  partitions: number;
  generateSeconds: number;
  partitionSeconds: number;
  mergeSeconds: number;
  cleanupSeconds: number;
  /** Partition + merge wall time (cleanup excluded). */
  seconds: number;
  recordsPerSecond: number;
  partitionCpuSeconds: number;
  mergeCpuSeconds: number;
  peakPartitionRssBytes: number;
  peakMergeRssBytes: number;
  shuffleObjects: number;
  shuffleBytes: number;
  entries: number;
  keysOut: number;
  outputBytes: number;
}

export interface CompactionBenchResult {
  rounds: CompactionBenchRound[];
  concurrency: number;
  cpus: number;
  loadBefore: number;
}

function envList(name: string): number[] | null {
  const value = process.env[name];
  if (!value) return null;
  return value.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: "${part}" is not a positive integer`);
    return n;
  });
}

function envNumber(name: string): number | null {
  const value = process.env[name];
  return value ? Number(value) : null;
}

/** Options from BENCH_COMPACT_* (see the header), over the defaults. */
export function compactionBenchOptionsFromEnv(): CompactionBenchOptions {
  const records = envList('BENCH_COMPACT_RECORDS') ?? [1_000_000, 10_000_000];
  const keys = envList('BENCH_COMPACT_KEYS');
  const partitions = envNumber('BENCH_COMPACT_PARTITIONS');
  const bufferMb = envNumber('BENCH_COMPACT_BUFFER_MB');
  return {
    sizes: records.map((n, i) => ({
      records: n,
      keys: keys?.[i] ?? keys?.[0] ?? Math.max(1, Math.round(n / 10)),
    })),
    payloadBytes: envNumber('BENCH_COMPACT_PAYLOAD') ?? 200,
    recordsPerObject: 50_000,
    shards: 4,
    concurrency: envNumber('BENCH_COMPACT_CONCURRENCY') ?? cpus().length,
    workerHeapMb: envNumber('BENCH_COMPACT_HEAP_MB'),
    plan: partitions ? { partitions } : {},
    partition: bufferMb ? { bufferBytes: bufferMb * 1024 * 1024 } : {},
    merge: {},
    log: () => undefined,
  };
}

async function round(
  options: CompactionBenchOptions,
  size: { records: number; keys: number },
  index: number,
) {
  const root = mkdtempSync(join(tmpdir(), 'reservoir-compact-bench-'));
  mkdirSync(join(root, 'objects'), { recursive: true });
  const store = new FileObjectStore(root);
  try {
    const shape: DataShape = {
      ...size,
      payloadBytes: options.payloadBytes,
      recordsPerObject: options.recordsPerObject,
      shards: options.shards,
    };
    const objectCount = Math.ceil(size.records / options.recordsPerObject);
    const batches = Array.from({ length: options.concurrency * 4 }, (_, b) =>
      Array.from({ length: objectCount }, (_, o) => o).filter((o) => o % (options.concurrency * 4) === b),
    ).filter((batch) => batch.length > 0);
    options.log(
      `round ${index + 1}: generating ${size.records} records over ${size.keys} keys (${objectCount} objects)`,
    );
    let started = performance.now();
    const generated = (
      await pool(batches, options.concurrency, (objects) =>
        inChild<{ key: string; bytes: number; records: number }[]>(
          { kind: 'generate', root, shape, objects },
          null,
        ),
      )
    ).flatMap((report) => report.result);
    const generateSeconds = (performance.now() - started) / 1000;
    const inputBytes = generated.reduce((sum, o) => sum + o.bytes, 0);

    // The planner as planCompactionRun calls it: records per byte as the checkpoints would report, 25% up.
    const runId = `bench-${index}`;
    const spec = planCompaction(
      {
        runId,
        stream: STREAM,
        prefix: PREFIX,
        archive: generated.map(({ key, bytes }) => ({ key, bytes })),
        fromMs: HOUR0,
        toMs: HOUR0 + 3_600_000,
      },
      { recordsPerByte: (size.records / inputBytes) * 1.25, ...options.plan },
    );
    await storeCompactionSpec(store, spec);
    options.log(`round ${index + 1}: ${spec.chunks.length} chunks → ${spec.partitions} partitions`);

    started = performance.now();
    const partitioned = await pool(
      spec.chunks.map((_, chunk) => chunk),
      options.concurrency,
      (chunk) =>
        inChild<PartitionResult>(
          { kind: 'partition', root, runId, chunk, settings: options.partition },
          options.workerHeapMb,
        ),
    );
    const partitionSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const merged = await pool(
      Array.from({ length: spec.partitions }, (_, p) => p),
      options.concurrency,
      (partition) =>
        inChild<MergeResult>(
          { kind: 'merge', root, runId, partition, settings: options.merge },
          options.workerHeapMb,
        ),
    );
    const mergeSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const summary = await cleanupCompaction(spec, { store });
    const cleanupSeconds = (performance.now() - started) / 1000;

    const sum = <R>(reports: TaskReport<R>[], pick: (r: TaskReport<R>) => number) =>
      reports.reduce((total, r) => total + pick(r), 0);
    const result: CompactionBenchRound = {
      ...size,
      objects: generated.length,
      inputBytes,
      chunks: spec.chunks.length,
      partitions: spec.partitions,
      generateSeconds,
      partitionSeconds,
      mergeSeconds,
      cleanupSeconds,
      seconds: partitionSeconds + mergeSeconds,
      recordsPerSecond: size.records / (partitionSeconds + mergeSeconds),
      partitionCpuSeconds: sum(partitioned, (r) => r.cpuSeconds),
      mergeCpuSeconds: sum(merged, (r) => r.cpuSeconds),
      peakPartitionRssBytes: Math.max(...partitioned.map((r) => r.maxRssBytes)),
      peakMergeRssBytes: Math.max(...merged.map((r) => r.maxRssBytes)),
      shuffleObjects: sum(partitioned, (r) => r.result.shuffleObjects),
      shuffleBytes: sum(partitioned, (r) => r.result.shuffleBytes),
      entries: sum(partitioned, (r) => r.result.entries),
      keysOut: summary.keys,
      outputBytes: summary.bytes,
    };
    if (
      summary.records !== summary.keys ||
      summary.keys > size.keys ||
      summary.keys < Math.min(size.keys, size.records) * 0.6
    )
      throw new Error(`round ${index + 1}: implausible result ${JSON.stringify(summary)}`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Runs one round per size (each on fresh data), workers in child processes. */
export async function compactionBench(
  overrides: Partial<CompactionBenchOptions> = {},
): Promise<CompactionBenchResult> {
  const options = { ...compactionBenchOptionsFromEnv(), ...overrides };
  const loadBefore = loadavg()[0]!;
  const rounds: CompactionBenchRound[] = [];
  for (const [index, size] of options.sizes.entries()) rounds.push(await round(options, size, index));
  return { rounds, concurrency: options.concurrency, cpus: cpus().length, loadBefore };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/** A plain-text report of a benchmark result. */
export function compactionBenchReport(result: CompactionBenchResult): string {
  const header = [
    'records',
    'keys',
    'chunks',
    'partitions',
    'partition s',
    'merge s',
    'records/s',
    'CPU us/rec',
    'peak RSS partition MB',
    'peak RSS merge MB',
    'shuffle MB',
  ];
  const rows = result.rounds.map((r) => [
    r.records,
    r.keys,
    r.chunks,
    r.partitions,
    r.partitionSeconds.toFixed(1),
    r.mergeSeconds.toFixed(1),
    Math.round(r.recordsPerSecond),
    (((r.partitionCpuSeconds + r.mergeCpuSeconds) * 1e6) / r.records).toFixed(1),
    mb(r.peakPartitionRssBytes),
    mb(r.peakMergeRssBytes),
    mb(r.shuffleBytes),
  ]);
  const lines = [
    `compaction: every worker in its own process, ${result.concurrency} at a time on ${result.cpus} CPUs ` +
      `(load before ${result.loadBefore.toFixed(2)}); time = partition + merge phases, data generation excluded`,
    [header, ...rows].map((row) => row.join('\t')).join('\n'),
  ];
  const first = result.rounds[0];
  const last = result.rounds[result.rounds.length - 1];
  if (first && last && last !== first) {
    const scale = last.records / first.records;
    const growth = last.seconds / first.seconds;
    const cpu = (r: CompactionBenchRound) => r.partitionCpuSeconds + r.mergeCpuSeconds;
    const cpuGrowth = cpu(last) / cpu(first);
    const peak = Math.max(
      ...result.rounds.map((r) => Math.max(r.peakPartitionRssBytes, r.peakMergeRssBytes)),
    );
    lines.push(
      `for ${scale.toFixed(0)}x the records: wall time ${growth.toFixed(1)}x (${(growth / scale).toFixed(2)} of linear; ` +
        `more chunks and partitions also mean more workers in parallel), worker CPU time ${cpuGrowth.toFixed(1)}x ` +
        `(${(cpuGrowth / scale).toFixed(2)} of linear); peak worker RSS ${mb(peak)} MB (goal < 1024)`,
    );
  }
  return lines.join('\n');
}

// Run as a worker: `node --require tsx/cjs bench/compaction.ts worker '<task json>'`.
if (require.main === module && process.argv[2] === 'worker') void childMain();
