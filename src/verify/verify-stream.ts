import { columnarStreamPrefix, HOUR_MS, hourStartMs, type ColumnarManifest } from '../core/columnar';
import { mapWithConcurrency } from '../core/concurrency';
import { archiveStreamPrefix, parseArchiveObjectKey } from '../core/layout';
import { parseArchiveObjectMetadata } from '../core/object-metadata';
import type { BucketLifecycle, ObjectStore, ParquetRecordSource } from '../core/ports';
import { archiveRuleId } from '../core/retention';
import { checkJsonlObject, ParquetRowCheck } from '../core/verify-content';
import { verifyStream, type StreamVerification, type VerifyObject } from '../core/verify';
import { readManifests } from '../columnar/hour-sources';
import { listGapLedgerRefs } from '../archive/gap-ledger-store';
import { readCheckpoints, readCheckpointsUnder } from '../archive/read-checkpoints';
import { retiredStreamPrefix } from '../core/stream-epoch';

export interface VerifyDeps {
  store: ObjectStore;
  prefix: string;
  /** The bucket's lifecycle, to know whether old objects may have expired (null: not known). */
  lifecycle: BucketLifecycle | null;
  /** Reads Parquet files (only --deep needs it). */
  parquet?: ParquetRecordSource;
}

export interface VerifyOptions {
  deep: boolean;
  fromMs?: number;
  toMs?: number;
}

/** HeadObject requests in flight at once. */
const CONCURRENCY = 16;
/** --deep downloads in flight at once: an object holds up to RESERVOIR_MAX_OBJECT_MB (32) of text. */
const DOWNLOADS = 4;

/**
 * Reads what `reservoir verify` checks of one stream (the archive and columnar listings, every
 * object's metadata, the checkpoints, the manifests, the acknowledged gaps; with `deep`, the
 * objects and Parquet files of the hours in the window) and checks it (core/verify.ts).
 */
export async function verifyArchivedStream(
  deps: VerifyDeps,
  stream: string,
  options: VerifyOptions,
): Promise<StreamVerification> {
  const { store, prefix } = deps;
  // Checkpoints before the listing: an object is written before the checkpoint write that commits
  // it, so every object a checkpoint read here counts is in the listing (a run may be archiving).
  const [checkpoints, retiredCheckpoints, acknowledgedGaps, mayExpire] = await Promise.all([
    readCheckpoints(store, prefix, stream),
    readCheckpointsUnder(store, retiredStreamPrefix(prefix, stream)),
    listGapLedgerRefs(store, prefix, stream),
    archiveMayExpire(deps.lifecycle, prefix, stream),
  ]);
  // Likewise the manifests before the listing their files are checked against.
  const manifests = [
    ...(
      await readManifests(store, stream, await store.listKeys(columnarStreamPrefix(prefix, stream)))
    ).values(),
  ];
  const [listed, columnar] = await Promise.all([
    store.listObjects(archiveStreamPrefix(prefix, stream)),
    store.listObjects(columnarStreamPrefix(prefix, stream)),
  ]);
  const archived = listed.filter((o) => parseArchiveObjectKey(o.key)?.stream === stream);
  const objects = (
    await mapWithConcurrency(archived, CONCURRENCY, async (object): Promise<VerifyObject | null> => {
      const metadata = await store.getMetadata(object.key);
      return metadata ? { ...object, ...parseArchiveObjectMetadata(metadata) } : null;
    })
  ).filter((o): o is VerifyObject => o !== null);
  const inWindow = (hourMs: number) =>
    (options.fromMs === undefined || hourMs + HOUR_MS > options.fromMs) &&
    (options.toMs === undefined || hourMs < options.toMs);
  const contentProblems = options.deep
    ? await readContent(deps, objects, manifests, columnar, inWindow)
    : undefined;
  return verifyStream({
    stream,
    objects,
    checkpoints,
    retiredCheckpoints,
    manifests,
    columnarObjects: columnar,
    acknowledgedGaps,
    mayExpire,
    ...(contentProblems ? { contentProblems } : {}),
    ...(options.fromMs !== undefined ? { fromMs: options.fromMs } : {}),
    ...(options.toMs !== undefined ? { toMs: options.toMs } : {}),
  });
}

/** The checkpoints under a prefix (retired ones sit one level deeper, under epoch=…/). */
/**
 * Whether a lifecycle rule may have expired the stream's oldest JSONL objects: the stream's
 * retention rule, or any enabled expiration without a tag filter over its prefix. (The jsonl-days
 * rule expires converted objects only, which their manifests still cover.) Unknown counts as yes.
 */
async function archiveMayExpire(
  lifecycle: BucketLifecycle | null,
  prefix: string,
  stream: string,
): Promise<boolean> {
  if (!lifecycle) return true;
  try {
    const rules = (await lifecycle.getLifecycle())?.rules ?? [];
    const objectPrefix = archiveStreamPrefix(prefix, stream);
    return rules.some(
      (rule) =>
        rule.Status !== 'Disabled' &&
        rule.Expiration !== undefined &&
        (rule.ID === archiveRuleId(stream) ||
          (!rule.Filter?.Tag &&
            !rule.Filter?.And?.Tags?.length &&
            objectPrefix.startsWith(rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix ?? ''))),
    );
  } catch {
    return true;
  }
}

/** --deep: downloads the window's objects and Parquet files and reads them through. */
async function readContent(
  deps: VerifyDeps,
  objects: readonly VerifyObject[],
  manifests: readonly ColumnarManifest[],
  columnar: readonly { key: string; bytes: number }[],
  inWindow: (hourMs: number) => boolean,
): Promise<Map<string, string[]>> {
  const problems = new Map<string, string[]>();
  const jsonl = objects.filter((o) => inWindow(hourStartMs(parseArchiveObjectKey(o.key)!)));
  await mapWithConcurrency(jsonl, DOWNLOADS, async (object) => {
    const body = await deps.store.getObject(object.key);
    if (body) problems.set(object.key, checkJsonlObject(object.key, body, object.records));
  });
  const present = new Set(columnar.map((o) => o.key));
  for (const manifest of manifests.filter((m) => inWindow(hourStartMs(m)))) {
    for (const file of manifest.files.filter((f) => present.has(f.key))) {
      if (!deps.parquet) throw new Error('verify --deep needs a Parquet reader');
      const check = new ParquetRowCheck(manifest, file);
      try {
        for await (const lines of deps.parquet.read(file.key)) check.add(lines);
        problems.set(file.key, check.finish());
      } catch (error) {
        problems.set(file.key, [`unreadable: ${(error as Error).message.split('\n')[0]}`]);
      }
    }
  }
  return problems;
}
