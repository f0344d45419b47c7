import { gzipSync } from 'node:zlib';
import {
  createRecordClassifier,
  entrySize,
  jsonLines,
  isEmitted,
  partitionOf,
  serializeEntry,
  type ShuffleEntry,
} from '../core/compaction-entry';
import { createCompactionComparator, type CompactionComparator } from '../core/compaction-order';
import { compactionFiles, specShards, type CompactionSpec } from '../core/compaction-spec';
import { ValidationError } from '../core/errors';
import { parseRecordLine, type RecordLine } from '../core/record-line';
import {
  DEFAULT_LIVE_READ,
  JSON_LINES,
  readGzipObject,
  readLiveInput,
  type CompactionDeps,
  type LiveReadSettings,
} from './inputs';

export interface PartitionSettings extends LiveReadSettings {
  /**
   * Bound on the buffered shuffle entries, in estimated heap bytes (an entry's JSON size plus
   * ENTRY_OVERHEAD). Past it, the largest partition buffers are written out until half of it
   * is left.
   */
  bufferBytes: number;
  /** Payloads whose encoded text is at most this long travel inline; longer ones by reference. */
  inlineBytes: number;
  /** Keep only the newest entry per key inside a buffer (bounded by bufferBytes like the rest). */
  preReduce: boolean;
  /** gzip level of shuffle objects: intermediate data, written and read once. */
  gzipLevel: number;
}

export const DEFAULT_PARTITION_SETTINGS: PartitionSettings = {
  ...DEFAULT_LIVE_READ,
  bufferBytes: 64 * 1024 * 1024,
  inlineBytes: 512,
  preReduce: true,
  gzipLevel: 1,
};

/**
 * V8 heap cost of a buffered entry beyond its JSON size: the entry and payload objects, the
 * headers of its strings and its Map slot. Measured on Node 20 at about 200 bytes (a typical
 * entry with a 200-byte payload: 336 bytes of JSON, 533 bytes of heap).
 */
export const ENTRY_OVERHEAD = 200;

export interface PartitionResult {
  chunk: number;
  inputs: number;
  /** Records read (user records, after de-aggregation). */
  records: number;
  /** Records that compete for their key: within bounds (and passing the filter with stage `before`). */
  matched: number;
  /** Entries written to the shuffle (fewer than `matched` when pre-reduce replaced some). */
  entries: number;
  /** Entries carrying a reference instead of their payload. */
  references: number;
  shuffleObjects: number;
  shuffleBytes: number;
}

/**
 * The partition phase of one chunk: reads its inputs in order, classifies each record (bounds,
 * filter, tombstone), and buffers an entry per competing record in its key's shuffle partition.
 * Writes `shuffle/p={p}/c={chunk}-{n}.jsonl.gz` objects, then a result marker; a retry after the
 * marker returns it without work. A retry after a crash rewrites the same object names, and any
 * leftover object of the crashed attempt only holds entries of the same records, which cannot
 * change any key's winner.
 */
export async function partitionChunk(
  spec: CompactionSpec,
  chunkIndex: number,
  deps: CompactionDeps,
  settings: Partial<PartitionSettings> = {},
): Promise<PartitionResult> {
  const options = { ...DEFAULT_PARTITION_SETTINGS, ...settings };
  const files = compactionFiles(spec.prefix, spec.runId);
  const chunk = spec.chunks[chunkIndex];
  if (!chunk) throw new ValidationError(`Compaction ${spec.runId} has no chunk ${chunkIndex}`);
  const done = await deps.store.getJson<PartitionResult>(files.partitionResult(chunkIndex));
  if (done) return done.value;

  const inputs = new Map(spec.inputs.map((input) => [input.id, input]));
  const shuffle = new Shuffle(spec, chunkIndex, deps, options);
  const classify = createRecordClassifier(spec);
  const result: PartitionResult = {
    chunk: chunkIndex,
    inputs: chunk.length,
    records: 0,
    matched: 0,
    entries: 0,
    references: 0,
    shuffleObjects: 0,
    shuffleBytes: 0,
  };

  const consider = (line: Omit<RecordLine, 'stream'>, reference: { input: string; line: number } | null) => {
    result.records += 1;
    const flags = classify(line);
    if (flags === null) return;
    result.matched += 1;
    let payload: ShuffleEntry['payload'] = null;
    if (isEmitted(flags)) {
      payload =
        reference && line.data.length > options.inlineBytes
          ? reference
          : { data: line.data, encoding: line.encoding };
    }
    shuffle.add({
      key: line.partitionKey,
      shardId: line.shardId,
      sequenceNumber: line.sequenceNumber,
      subSequenceNumber: line.subSequenceNumber,
      arrivalTimestamp: line.arrivalTimestamp,
      flags,
      payload,
    });
  };

  for (const id of chunk) {
    const input = inputs.get(id);
    if (!input)
      throw new ValidationError(`Compaction ${spec.runId}: chunk ${chunkIndex} names unknown input ${id}`);
    if (input.type === 'archive') {
      const body = await readGzipObject(deps.store, input.key, 'Archive object');
      for (const [text, index] of jsonLines(body)) {
        consider(parseRecordLine(text), { input: id, line: index });
        if (shuffle.full) await shuffle.flush();
      }
    } else if (input.type === 'parquet') {
      if (!deps.parquet)
        throw new ValidationError(`Compaction input ${input.id} is Parquet: a Parquet reader is needed`);
      // Payloads inline: the merge resolves references into JSONL objects only.
      for await (const lines of deps.parquet.read(input.key)) {
        for (const line of lines) {
          consider(line, null);
          if (shuffle.full) await shuffle.flush();
        }
      }
    } else {
      await readLiveInput(
        deps,
        spec,
        input,
        options,
        (line) => consider(line, null),
        async () => {
          if (shuffle.full) await shuffle.flush();
        },
      );
    }
  }
  await shuffle.flushAll();

  Object.assign(result, shuffle.counts);
  await deps.store.putJson(files.partitionResult(chunkIndex), result);
  return result;
}

interface PartitionBuffer {
  /** By key when pre-reducing, else in arrival order. */
  byKey: Map<string, ShuffleEntry> | null;
  list: ShuffleEntry[];
  bytes: number;
  objects: number;
}

class Shuffle {
  readonly counts = { entries: 0, references: 0, shuffleObjects: 0, shuffleBytes: 0 };
  private readonly buffers = new Map<number, PartitionBuffer>();
  private total = 0;
  private readonly newer: CompactionComparator;
  private readonly files;

  constructor(
    private readonly spec: CompactionSpec,
    private readonly chunk: number,
    private readonly deps: CompactionDeps,
    private readonly options: PartitionSettings,
  ) {
    this.newer = createCompactionComparator(spec.lineage, specShards(spec));
    this.files = compactionFiles(spec.prefix, spec.runId);
  }

  add(entry: ShuffleEntry): void {
    const p = partitionOf(entry.key, this.spec.partitions);
    let buffer = this.buffers.get(p);
    if (!buffer) {
      buffer = { byKey: this.options.preReduce ? new Map() : null, list: [], bytes: 0, objects: 0 };
      this.buffers.set(p, buffer);
    }
    const size = entrySize(entry) + ENTRY_OVERHEAD;
    if (buffer.byKey) {
      const held = buffer.byKey.get(entry.key);
      if (held) {
        if (this.newer(entry, held) <= 0) return;
        const delta = size - (entrySize(held) + ENTRY_OVERHEAD);
        buffer.bytes += delta;
        this.total += delta;
      } else {
        buffer.bytes += size;
        this.total += size;
      }
      buffer.byKey.set(entry.key, entry);
    } else {
      buffer.list.push(entry);
      buffer.bytes += size;
      this.total += size;
    }
  }

  get full(): boolean {
    return this.total > this.options.bufferBytes;
  }

  /** Writes out the largest partition buffers until at most half the bound is buffered. */
  async flush(): Promise<void> {
    const largest = [...this.buffers.entries()].sort(([, a], [, b]) => b.bytes - a.bytes);
    for (const [p, buffer] of largest) {
      if (this.total <= this.options.bufferBytes / 2) break;
      await this.write(p, buffer);
    }
  }

  async flushAll(): Promise<void> {
    for (const p of [...this.buffers.keys()].sort((a, b) => a - b)) await this.write(p, this.buffers.get(p)!);
  }

  private async write(p: number, buffer: PartitionBuffer): Promise<void> {
    const entries = buffer.byKey ? [...buffer.byKey.values()] : buffer.list;
    if (entries.length === 0) return;
    const parts: string[] = [];
    for (const entry of entries) {
      parts.push(serializeEntry(entry));
      if (entry.payload && 'input' in entry.payload) this.counts.references += 1;
    }
    parts.push('');
    const body = gzipSync(Buffer.from(parts.join('\n'), 'utf8'), { level: this.options.gzipLevel });
    const key = this.files.shuffleObject(p, this.chunk, buffer.objects);
    await this.deps.store.putObject(key, body, JSON_LINES, 'gzip');
    buffer.objects += 1;
    this.counts.entries += entries.length;
    this.counts.shuffleObjects += 1;
    this.counts.shuffleBytes += body.length;
    this.total -= buffer.bytes;
    buffer.bytes = 0;
    buffer.byKey?.clear();
    buffer.list = [];
  }
}
