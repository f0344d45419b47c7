import { gunzipSync } from 'node:zlib';
import { archiveStreamPrefix, parseArchiveObjectKey, type ArchiveObjectRef } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import { parseRecordLines, type RecordLine } from '../core/record-line';

export interface ArchiveObject extends ArchiveObjectRef {
  key: string;
}

/** Every archive object of a stream, in key order (dt, hr, shard, sequence range). */
export async function listArchiveObjects(
  store: ObjectStore,
  prefix: string,
  stream: string,
): Promise<ArchiveObject[]> {
  const keys = await store.listKeys(archiveStreamPrefix(prefix, stream));
  return keys.flatMap((key) => {
    const ref = parseArchiveObjectKey(key);
    return ref ? [{ key, ...ref }] : [];
  });
}

export async function readArchiveObject(store: ObjectStore, key: string): Promise<RecordLine[]> {
  const body = await store.getObject(key);
  if (!body) return [];
  return parseRecordLines(gunzipSync(body).toString('utf8'));
}

/** Reads a stream's whole archive: for demos, tests and small archives only. */
export async function readWholeArchive(store: ObjectStore, prefix: string, stream: string) {
  const objects = await listArchiveObjects(store, prefix, stream);
  const lines: { object: ArchiveObject; line: RecordLine }[] = [];
  for (const object of objects) {
    for (const line of await readArchiveObject(store, object.key)) lines.push({ object, line });
  }
  return { objects, lines };
}
