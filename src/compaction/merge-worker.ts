import { gzipSync } from 'node:zlib';
import {
  TOMBSTONE,
  isEmitted,
  jsonLines,
  lineOffsets,
  parseEntry,
  type ShuffleEntry,
} from '../core/compaction-entry';
import { createCompactionComparator } from '../core/compaction-order';
import {
  compactionFiles,
  compactionOutputKey,
  specShards,
  type CompactionSpec,
} from '../core/compaction-spec';
import { CorruptStateError, ValidationError } from '../core/errors';
import { parseRecordLine, type RecordLine } from '../core/record-line';
import { JSON_LINES, readGzipObject, type CompactionDeps } from './inputs';

export interface MergeSettings {
  /** Uncompressed bytes per output object; a partition's output is split past it. */
  outputBytes: number;
  gzipLevel: number;
  /** Refuse to merge before every chunk's partition result exists (a merge started too early). */
  requireAllChunks: boolean;
}

export const DEFAULT_MERGE_SETTINGS: MergeSettings = {
  outputBytes: 32 * 1024 * 1024,
  gzipLevel: 6,
  requireAllChunks: true,
};

export interface MergeResult {
  partition: number;
  /** Distinct keys in the partition (emitted, tombstoned or filtered out). */
  keys: number;
  /** Records written: one per key whose winner is neither a tombstone nor (stage `after`) filtered out. */
  records: number;
  /** Keys whose winner is a tombstone: deleted, nothing written. */
  tombstoned: number;
  /** Keys whose winner is not a tombstone and does not pass the filter (stage `after` only). */
  filteredOut: number;
  /** Shuffle entries read. */
  entries: number;
  shuffleObjects: number;
  /** Archive objects read to resolve references (each once when a shard's objects hold disjoint ranges). */
  objectsRead: number;
  /** Compressed bytes written. */
  bytes: number;
  outputs: string[];
}

/**
 * Memory of a merge worker is dominated by the winner map: per distinct key, about 250 bytes
 * (Map slot, entry and payload objects, the 56-digit sequence number; shard ids are interned)
 * + the key + the inline payload (at most the partition phase's `inlineBytes`; none for winners
 * that will not be emitted). Add one shuffle object (compressed and decompressed; at most about
 * the partition phase's `bufferBytes`), one referenced archive object, and one output object
 * being built (`outputBytes`). Measured (bench/compaction.ts, Node 20, default heap settings):
 * 500,000 keys with 200-byte payloads peak at ~350 MB of heap and ~740 MB RSS; 400,000 keys with
 * 500-byte payloads (the planner's default bound of 500,000 estimated records per partition,
 * less its 25% margin, every key distinct) at ~700-730 MB RSS. A lower `keysPerPartition`
 * lowers it proportionally.
 */
export async function mergePartition(
  spec: CompactionSpec,
  partition: number,
  deps: CompactionDeps,
  settings: Partial<MergeSettings> = {},
): Promise<MergeResult> {
  const options = { ...DEFAULT_MERGE_SETTINGS, ...settings };
  if (!Number.isInteger(partition) || partition < 0 || partition >= spec.partitions)
    throw new ValidationError(`Compaction ${spec.runId} has no partition ${partition}`);
  const files = compactionFiles(spec.prefix, spec.runId);
  const done = await deps.store.getJson<MergeResult>(files.mergeResult(partition));
  if (done) return done.value;
  if (options.requireAllChunks) {
    const partitioned = (await deps.store.listKeys(files.partitioned)).length;
    if (partitioned < spec.chunks.length) {
      throw new CorruptStateError(
        `Compaction ${spec.runId}: merge of partition ${partition} before the partition phase finished ` +
          `(${partitioned} of ${spec.chunks.length} chunks)`,
      );
    }
  }

  const compare = createCompactionComparator(spec.lineage, specShards(spec));
  const result: MergeResult = {
    partition,
    keys: 0,
    records: 0,
    tombstoned: 0,
    filteredOut: 0,
    entries: 0,
    shuffleObjects: 0,
    objectsRead: 0,
    bytes: 0,
    outputs: [],
  };

  // 1. The winner per key.
  const winners = new Map<string, ShuffleEntry>();
  const shardIds = new Map<string, string>();
  for (const key of await deps.store.listKeys(files.shufflePartition(partition))) {
    const body = await readGzipObject(deps.store, key, 'Shuffle object');
    result.shuffleObjects += 1;
    for (const [text] of jsonLines(body)) {
      const entry = parseEntry(text);
      result.entries += 1;
      const held = winners.get(entry.key);
      if (held && compare(entry, held) <= 0) continue;
      let shardId = shardIds.get(entry.shardId);
      if (shardId === undefined) shardIds.set(entry.shardId, (shardId = entry.shardId));
      entry.shardId = shardId;
      if (!isEmitted(entry.flags)) entry.payload = null;
      winners.set(entry.key, entry);
    }
  }

  // 2. Decide per key; sort what is written by position (deterministic output).
  result.keys = winners.size;
  const emitted: ShuffleEntry[] = [];
  for (const entry of winners.values()) {
    if (isEmitted(entry.flags)) emitted.push(entry);
    else if (entry.flags & TOMBSTONE) result.tombstoned += 1;
    else result.filteredOut += 1;
  }
  winners.clear();
  emitted.sort((a, b) => compare(a, b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  // 3. Write, resolving references. Sorted by position, the references into one archive object
  // are contiguous (a shard's objects hold disjoint sequence ranges), so one object is loaded at a time.
  const inputs = new Map(spec.inputs.map((input) => [input.id, input]));
  const output = new OutputWriter(spec, partition, deps, options, result);
  const cache: { current: { id: string; body: Buffer; starts: Uint32Array; ends: Uint32Array } | null } = {
    current: null,
  };
  for (let i = 0; i < emitted.length; i++) {
    const entry = emitted[i]!;
    // Written entries are let go as the output grows: the peak stays that of the winner map.
    (emitted as (ShuffleEntry | null)[])[i] = null;
    const payload = entry.payload;
    if (payload === null) throw new CorruptStateError(`Shuffle entry of key ${entry.key} has no payload`);
    let line: RecordLine;
    if ('data' in payload) {
      line = {
        stream: spec.stream,
        shardId: entry.shardId,
        sequenceNumber: entry.sequenceNumber,
        subSequenceNumber: entry.subSequenceNumber,
        partitionKey: entry.key,
        arrivalTimestamp: entry.arrivalTimestamp,
        data: payload.data,
        encoding: payload.encoding,
      };
    } else {
      if (cache.current?.id !== payload.input) {
        const input = inputs.get(payload.input);
        if (input?.type !== 'archive')
          throw new CorruptStateError(
            `Shuffle entry of key ${entry.key} references unknown input ${payload.input}`,
          );
        cache.current = null; // let the previous object go before the next one arrives
        const body = await readGzipObject(deps.store, input.key, 'Archive object');
        cache.current = { id: payload.input, body, ...lineOffsets(body) };
        result.objectsRead += 1;
      }
      const loaded = cache.current;
      const start = loaded.starts[payload.line];
      const end = loaded.ends[payload.line];
      if (start === undefined || end === undefined)
        throw new CorruptStateError(
          `Archive input ${payload.input} has no line ${payload.line} (it changed)`,
        );
      line = parseRecordLine(loaded.body.toString('utf8', start, end));
      if (
        line.partitionKey !== entry.key ||
        line.shardId !== entry.shardId ||
        line.sequenceNumber !== entry.sequenceNumber ||
        line.subSequenceNumber !== entry.subSequenceNumber
      ) {
        throw new CorruptStateError(
          `Archive input ${payload.input} line ${payload.line} is not the record the shuffle names (it changed)`,
        );
      }
    }
    await output.write(line);
    result.records += 1;
  }
  cache.current = null;
  await output.close();

  await deps.store.putJson(files.mergeResult(partition), result);
  return result;
}

/** The archive's record line text, fields in the documented order (as serializeRecordLine writes it). */
function recordLineText(line: RecordLine): string {
  return JSON.stringify({
    stream: line.stream,
    shardId: line.shardId,
    sequenceNumber: line.sequenceNumber,
    subSequenceNumber: line.subSequenceNumber,
    partitionKey: line.partitionKey,
    arrivalTimestamp: line.arrivalTimestamp,
    data: line.data,
    encoding: line.encoding,
  });
}

class OutputWriter {
  private lines: string[] = [];
  private bytes = 0;
  private split = 0;

  constructor(
    private readonly spec: CompactionSpec,
    private readonly partition: number,
    private readonly deps: CompactionDeps,
    private readonly options: MergeSettings,
    private readonly result: MergeResult,
  ) {}

  async write(line: RecordLine): Promise<void> {
    const text = recordLineText(line);
    if (this.lines.length > 0 && this.bytes + text.length + 1 > this.options.outputBytes) await this.flush();
    this.lines.push(text);
    this.bytes += text.length + 1;
  }

  async close(): Promise<void> {
    if (this.lines.length > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    this.lines.push('');
    const body = gzipSync(Buffer.from(this.lines.join('\n'), 'utf8'), { level: this.options.gzipLevel });
    this.lines = [];
    this.bytes = 0;
    const key = compactionOutputKey(this.spec.outPrefix, this.partition, this.split++);
    await this.deps.store.putObject(key, body, JSON_LINES, 'gzip');
    this.result.outputs.push(key);
    this.result.bytes += body.length;
  }
}
