import { gunzipSync } from 'node:zlib';
import { hourStartMs, type ColumnarManifest, type ManifestFile } from './columnar';
import { hourStart, parseArchiveObjectKey, type ArchiveObjectRef } from './layout';
import { parseRecordLine, type RecordLine } from './record-line';
import { compareSequenceNumbers } from './sequence';

/**
 * `reservoir verify --deep` (DESIGN.md "Verifying the archive"): what reading an object proves.
 * Each function returns the problems found (empty: intact), a few at most.
 */
const MAX_PROBLEMS = 3;

/**
 * A JSONL object: the gzip is whole, every line is a record line of the object's shard and stream
 * whose position lies in the range the name gives and whose arrival lies in the object's hour, the
 * first and last lines are the named first and last (blocks are cut between Kinesis records), and
 * the lines number `expectedRecords` when the archiver recorded it.
 */
export function checkJsonlObject(key: string, body: Uint8Array, expectedRecords?: number): string[] {
  const ref = parseArchiveObjectKey(key);
  if (!ref) return [`not an archive object key`];
  let text: string;
  try {
    text = gunzipSync(body).toString('utf8');
  } catch (error) {
    return [`gzip: ${(error as Error).message}`];
  }
  if (!text.endsWith('\n')) return ['the last line is cut short (no final newline)'];
  const problems: string[] = [];
  const report = (problem: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(problem);
  };
  const texts = text.slice(0, -1).split('\n');
  const lines: RecordLine[] = [];
  texts.forEach((line, index) => {
    try {
      lines.push(parseRecordLine(line));
    } catch (error) {
      report(`line ${index + 1}: ${(error as Error).message.slice(0, 120)}`);
    }
  });
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${line.sequenceNumber})`;
    if (line.stream !== ref.stream || line.shardId !== ref.shardId)
      report(`${where} is of ${line.stream}/${line.shardId}`);
    if (!inRange(line.sequenceNumber, ref.firstSequenceNumber, ref.lastSequenceNumber))
      report(`${where} lies outside the object's range`);
    if (hourStart(line.arrivalTimestamp) !== hourStartMs(ref))
      report(`${where} arrived outside the object's hour`);
  });
  if (lines.length === texts.length) {
    if (lines[0]?.sequenceNumber !== ref.firstSequenceNumber)
      report(`the first line is not ${ref.firstSequenceNumber}`);
    if (lines.at(-1)?.sequenceNumber !== ref.lastSequenceNumber)
      report(`the last line is not ${ref.lastSequenceNumber}`);
  }
  if (expectedRecords !== undefined && texts.length !== expectedRecords)
    report(`${texts.length} lines, the archiver wrote ${expectedRecords}`);
  return problems;
}

/**
 * A Parquet file of a manifest, row batch by row batch: its row count is the manifest's, and each
 * row's position lies in the range of one of the manifest's sources of its shard.
 */
export class ParquetRowCheck {
  private readonly stream: string;
  private rows = 0;
  private readonly problems: string[] = [];
  private readonly ranges = new Map<string, ArchiveObjectRef[]>();

  constructor(
    manifest: Pick<ColumnarManifest, 'stream' | 'sources'>,
    private readonly file: ManifestFile,
  ) {
    this.stream = manifest.stream;
    for (const source of manifest.sources) {
      const ref = parseArchiveObjectKey(source.key);
      if (!ref) continue;
      this.ranges.set(ref.shardId, [...(this.ranges.get(ref.shardId) ?? []), ref]);
    }
  }

  add(lines: readonly RecordLine[]): void {
    for (const line of lines) {
      this.rows += 1;
      const sources = this.ranges.get(line.shardId) ?? [];
      if (line.stream !== this.stream) this.report(`row ${this.rows} is of stream ${line.stream}`);
      else if (
        !sources.some((r) => inRange(line.sequenceNumber, r.firstSequenceNumber, r.lastSequenceNumber))
      )
        this.report(`row ${this.rows} (${line.shardId} ${line.sequenceNumber}) lies in no source's range`);
    }
  }

  finish(): string[] {
    if (this.rows !== this.file.rows) this.report(`${this.rows} rows, the manifest says ${this.file.rows}`);
    return this.problems;
  }

  private report(problem: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(problem);
  }
}

function inRange(sequenceNumber: string, first: string, last: string): boolean {
  if (!/^\d+$/.test(sequenceNumber)) return false;
  return (
    compareSequenceNumbers(sequenceNumber, first) >= 0 && compareSequenceNumbers(sequenceNumber, last) <= 0
  );
}
