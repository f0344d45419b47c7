/**
 * The shuffle of a compaction run (see compaction-spec.ts): which partition a key goes to, what
 * a shuffle entry holds, how records are classified. Pure: no AWS.
 */
import { compileFilter, type FilterEvent } from './filter-pattern';
import type { PayloadEncoding, RecordLine } from './record-line';
import type { CompactionSpec } from './compaction-spec';

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (lone surrogates count as U+FFFD, as TextEncoder does). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      hash = Math.imul(hash ^ code, 0x01000193);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xd800 && code <= 0xdfff) {
      code = 0xfffd;
    }
    // The code point's UTF-8 bytes, hashed one by one (no allocation: this runs once per record).
    if (code < 0x800) {
      hash = Math.imul(hash ^ (0xc0 | (code >> 6)), 0x01000193);
    } else {
      if (code < 0x10000) {
        hash = Math.imul(hash ^ (0xe0 | (code >> 12)), 0x01000193);
      } else {
        hash = Math.imul(hash ^ (0xf0 | (code >> 18)), 0x01000193);
        hash = Math.imul(hash ^ (0x80 | ((code >> 12) & 0x3f)), 0x01000193);
      }
      hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
    }
    hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193);
  }
  return hash >>> 0;
}

/** The shuffle partition of a partition key: stable across workers, runs and versions. */
export function partitionOf(partitionKey: string, partitions: number): number {
  return fnv1a32(partitionKey) % partitions;
}

/** The record passes the filter (always set without a filter, and always with stage `before`). */
export const MATCHED = 1;
/** The record matches the tombstone pattern. */
export const TOMBSTONE = 2;

/** Whether a key whose winner has these flags is written to the output. */
export function isEmitted(flags: number): boolean {
  return (flags & MATCHED) !== 0 && (flags & TOMBSTONE) === 0;
}

/**
 * One record in the shuffle: its key, its position, and its payload inline or as a reference to
 * its line in an archive input (`input` = the input's id, `line` = index of the line among the
 * object's non-empty lines). Live records are always inline: the stream cannot be re-read cheaply.
 */
export interface ShuffleEntry {
  key: string;
  shardId: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  arrivalTimestamp: number;
  flags: number;
  payload: { data: string; encoding: PayloadEncoding } | { input: string; line: number } | null;
}

/**
 * A JSON array per line, smaller and faster than an object:
 * `[key, shardId, sequenceNumber, subSequenceNumber, arrivalTimestamp, flags, data, encoding]` inline,
 * `[key, shardId, sequenceNumber, subSequenceNumber, arrivalTimestamp, flags, inputId, lineIndex]` by
 * reference, `[…, flags]` (six items) when no payload is needed (the record is never emitted).
 */
export function serializeEntry(entry: ShuffleEntry): string {
  // Built by hand: a third faster than JSON.stringify of an array, and the same text.
  const head =
    `[${JSON.stringify(entry.key)},${JSON.stringify(entry.shardId)},${JSON.stringify(entry.sequenceNumber)},` +
    `${entry.subSequenceNumber},${entry.arrivalTimestamp},${entry.flags}`;
  const payload = entry.payload;
  if (payload === null) return `${head}]`;
  if ('data' in payload) return `${head},${JSON.stringify(payload.data)},"${payload.encoding}"]`;
  return `${head},${JSON.stringify(payload.input)},${payload.line}]`;
}

export function parseEntry(text: string): ShuffleEntry {
  const value = JSON.parse(text) as unknown[];
  if (
    !Array.isArray(value) ||
    (value.length !== 6 && value.length !== 8) ||
    typeof value[0] !== 'string' ||
    typeof value[1] !== 'string' ||
    typeof value[2] !== 'string' ||
    typeof value[3] !== 'number' ||
    typeof value[4] !== 'number' ||
    typeof value[5] !== 'number'
  ) {
    throw new Error(`Not a compaction shuffle entry: ${text.slice(0, 200)}`);
  }
  let payload: ShuffleEntry['payload'] = null;
  if (value.length === 8) {
    const [, , , , , , a, b] = value;
    if (typeof a === 'string' && (b === 'utf8' || b === 'base64')) payload = { data: a, encoding: b };
    else if (typeof a === 'string' && typeof b === 'number') payload = { input: a, line: b };
    else throw new Error(`Not a compaction shuffle entry payload: ${text.slice(0, 200)}`);
  }
  return {
    key: value[0],
    shardId: value[1],
    sequenceNumber: value[2],
    subSequenceNumber: value[3],
    arrivalTimestamp: value[4],
    flags: value[5],
    payload,
  };
}

/** Serialized size estimate of an entry (its JSON line), without serializing it. */
export function entrySize(entry: ShuffleEntry): number {
  const payload = entry.payload;
  const payloadSize =
    payload === null ? 0 : 'data' in payload ? payload.data.length + 12 : payload.input.length + 12;
  return entry.key.length + entry.shardId.length + entry.sequenceNumber.length + payloadSize + 40;
}

/**
 * What a filter pattern is applied to (the replay's rule): `data` parsed as JSON when it is
 * JSON, else the payload text (or base64); `approximateArrivalTimestamp` in seconds, as in the
 * Lambda Kinesis event whose filter patterns users copy.
 */
export function compactionFilterEvent(line: Omit<RecordLine, 'stream'>): FilterEvent {
  let data: unknown = line.data;
  if (line.encoding === 'utf8') {
    try {
      data = JSON.parse(line.data);
    } catch {
      data = line.data;
    }
  }
  return {
    partitionKey: line.partitionKey,
    sequenceNumber: line.sequenceNumber,
    approximateArrivalTimestamp: line.arrivalTimestamp / 1000,
    data,
  };
}

/**
 * Classifies a record for the shuffle: null when it does not compete (outside the bounds, or
 * stage `before` and not passing the filter), else its flags. The filter and tombstone patterns
 * are evaluated here, in the partition phase, so the merge never needs a payload to decide.
 */
export function createRecordClassifier(
  spec: Pick<CompactionSpec, 'fromMs' | 'toMs' | 'filter' | 'filterStage' | 'tombstone'>,
): (line: Omit<RecordLine, 'stream'>) => number | null {
  const filter = spec.filter ? compileFilter(spec.filter) : null;
  const tombstone = spec.tombstone ? compileFilter(spec.tombstone) : null;
  const before = spec.filterStage !== 'after';
  return (line) => {
    if (line.arrivalTimestamp < spec.fromMs || line.arrivalTimestamp >= spec.toMs) return null;
    if (!filter && !tombstone) return MATCHED;
    const event = compactionFilterEvent(line);
    const matched = filter ? filter(event) : true;
    if (before && !matched) return null;
    return (matched ? MATCHED : 0) | (tombstone?.(event) ? TOMBSTONE : 0);
  };
}

/**
 * The non-empty lines of a UTF-8 JSON Lines buffer, each with its index among the non-empty
 * lines (the index a reference carries; it matches `parseRecordLines`' order).
 */
export function* jsonLines(body: Uint8Array): Generator<[text: string, index: number]> {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let index = 0;
  let start = 0;
  while (start < buffer.length) {
    let end = buffer.indexOf(10, start);
    if (end === -1) end = buffer.length;
    if (end > start) yield [buffer.toString('utf8', start, end), index++];
    start = end + 1;
  }
}

/** Offsets of the non-empty lines of a buffer: line i is `[starts[i], ends[i])`. */
export function lineOffsets(body: Uint8Array): { starts: Uint32Array; ends: Uint32Array } {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const starts: number[] = [];
  const ends: number[] = [];
  let start = 0;
  while (start < buffer.length) {
    let end = buffer.indexOf(10, start);
    if (end === -1) end = buffer.length;
    if (end > start) {
      starts.push(start);
      ends.push(end);
    }
    start = end + 1;
  }
  return { starts: Uint32Array.from(starts), ends: Uint32Array.from(ends) };
}
