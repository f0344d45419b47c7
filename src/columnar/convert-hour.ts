import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  archiveHourPrefix,
  columnarManifestKey,
  generationId,
  isColumnarManifest,
  needsConversion,
  parquetKey,
  rowGroupRows,
  sortedSources,
  type ArchiveHour,
  type ColumnarManifest,
  type ManifestSource,
} from '../core/columnar';
import { CheckpointConflictError, CorruptStateError } from '../core/errors';
import { parseArchiveObjectKey } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import { CONVERTED_JSONL_TAGS } from '../core/retention';
import type { ParquetWriter } from './parquet-writer';

export interface ConvertHourDeps {
  store: ObjectStore;
  writer: ParquetWriter;
  /** A directory for the downloads and the Parquet file (removed after each hour). */
  tmpDir: string;
  now: () => Date;
  /** Called after the Parquet files are uploaded, before the manifest is written (tests inject crashes). */
  beforeManifest?: () => Promise<void>;
}

export type ConvertHourStatus = 'converted' | 'up-to-date' | 'empty' | 'superseded';

export interface ConvertHourResult extends ArchiveHour {
  status: ConvertHourStatus;
  generation?: string;
  /** The generation this one replaced. */
  previousGeneration?: string;
  records: number;
  sources: number;
  parquetBytes: number;
  /** Bytes of record lines converted (uncompressed JSONL). */
  lineBytes: number;
}

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/**
 * Converts one hour of a stream's JSONL archive into a new Parquet generation:
 *
 * 1. list the hour's JSONL objects and read its manifest; nothing to do when they match;
 * 2. download the objects, count their record lines;
 * 3. DuckDB writes one Parquet file (ordered, zstd) locally; its row count must equal the lines;
 * 4. upload it under a new generation id;
 * 5. write the manifest, conditionally (If-None-Match for the first, If-Match its ETag after):
 *    from here on readers see the new generation; a 412 means another conversion got there first,
 *    and this one removes its own files;
 * 6. delete the previous generation's files (best effort: readers never look at them);
 * 7. tag the hour's JSONL objects reservoir-converted=true (CONVERTED_JSONL_TAGS): a stream's
 *    jsonl-days lifecycle rule expires only tagged objects (DESIGN.md "Retention").
 *
 * A crash anywhere before 5 leaves the manifest as it was; files of the unfinished generation are
 * in no manifest, and no JSONL object is tagged. A crash between 5 and 7 leaves JSONL untagged,
 * i.e. kept; an up-to-date hour is tagged again when converted on demand.
 *
 * An hour whose manifest lists JSONL objects that are gone (expired after conversion) is never
 * converted again: the new generation would lack their rows. Its new objects stay JSONL.
 */
export async function convertHour(
  deps: ConvertHourDeps,
  prefix: string,
  hour: ArchiveHour,
): Promise<ConvertHourResult> {
  const { store } = deps;
  const listed = await store.listObjects(archiveHourPrefix(prefix, hour));
  const sources: ManifestSource[] = sortedSources(
    listed.filter((o) => parseArchiveObjectKey(o.key)).map((o) => ({ key: o.key, bytes: o.bytes })),
  );
  const manifestKey = columnarManifestKey(prefix, hour);
  const stored = await store.getJson<ColumnarManifest>(manifestKey);
  if (stored && !isColumnarManifest(stored.value))
    throw new CorruptStateError(`${manifestKey} is not a reservoir columnar manifest`);
  const previous = stored?.value ?? null;
  const base = { ...hour, sources: sources.length, parquetBytes: 0, lineBytes: 0 };
  if (sources.length === 0) return { ...base, status: 'empty', records: 0 };
  if (!needsConversion(previous, sources)) {
    await store.tagObjects(
      sources.map((source) => source.key),
      CONVERTED_JSONL_TAGS,
    );
    return { ...base, status: 'up-to-date', generation: previous!.generation, records: previous!.records };
  }
  const listedKeys = new Set(sources.map((source) => source.key));
  const gone = previous?.sources.filter((source) => !listedKeys.has(source.key)) ?? [];
  if (gone.length > 0)
    throw new CorruptStateError(
      `${hour.stream} ${hour.dt} hr=${hour.hr}: ${gone.length} JSONL object(s) its manifest lists are gone ` +
        `(e.g. ${gone[0]!.key}, expired after conversion); converting it again would drop their rows, ` +
        'so its newer JSONL objects stay unconverted',
    );

  const generation = generationId(deps.now(), randomBytes(4).toString('hex'));
  mkdirSync(deps.tmpDir, { recursive: true });
  const work = mkdtempSync(join(deps.tmpDir, `${hour.dt}-${hour.hr}-`));
  try {
    // 2. Download; count lines independently of DuckDB (the check of step 3).
    const files: string[] = [];
    let lines = 0;
    let lineBytes = 0;
    for (const [i, source] of sources.entries()) {
      const body = await store.getObject(source.key);
      if (!body) throw new CorruptStateError(`Archive object ${source.key} disappeared during conversion`);
      const text = gunzipSync(body);
      lines += countLines(text);
      lineBytes += text.length;
      const path = join(work, `${String(i).padStart(6, '0')}.jsonl.gz`);
      writeFileSync(path, body);
      files.push(path);
    }

    // 3. Convert and check.
    const output = join(work, 'hour.parquet');
    await deps.writer.write(files, output, rowGroupRows(lineBytes, lines));
    const rows = await deps.writer.countRows(output);
    if (rows !== lines)
      throw new CorruptStateError(
        `Parquet of ${hour.stream} ${hour.dt} hr=${hour.hr} has ${rows} rows for ${lines} record lines; nothing published`,
      );

    // 4. Upload.
    const key = parquetKey(prefix, hour, generation, 0);
    const bytes = statSync(output).size;
    await store.putObject(key, readFileSync(output), PARQUET_CONTENT_TYPE);
    await deps.beforeManifest?.();

    // 5. Publish.
    const manifest: ColumnarManifest = {
      version: 1,
      stream: hour.stream,
      dt: hour.dt,
      hr: hour.hr,
      generation,
      files: [{ key, bytes, rows }],
      sources,
      records: rows,
      createdAt: deps.now().toISOString(),
    };
    try {
      await store.putJsonIfMatch(manifestKey, manifest, stored?.etag ?? null);
    } catch (error) {
      if (!(error instanceof CheckpointConflictError)) throw error;
      await store.deleteKeys([key]).catch(() => undefined);
      return { ...base, status: 'superseded', records: 0 };
    }

    // 6. The previous generation is unreferenced now.
    if (previous) {
      const old = previous.files.map((f) => f.key).filter((k) => k !== key);
      if (old.length > 0) await store.deleteKeys(old).catch(() => undefined);
    }

    // 7. Their records are in Parquet now: jsonl-days may expire them.
    await store.tagObjects(
      sources.map((source) => source.key),
      CONVERTED_JSONL_TAGS,
    );
    return {
      ...base,
      status: 'converted',
      generation,
      ...(previous ? { previousGeneration: previous.generation } : {}),
      records: rows,
      parquetBytes: bytes,
      lineBytes,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Non-empty lines of record-line text (the last one may lack its newline). */
export function countLines(text: Uint8Array): number {
  let lines = 0;
  let start = 0;
  for (let i = text.indexOf(0x0a); i !== -1; i = text.indexOf(0x0a, i + 1)) {
    if (i > start) lines += 1;
    start = i + 1;
  }
  return start < text.length ? lines + 1 : lines;
}
