import { isCheckpoint, type Checkpoint } from '../../src/core/checkpoint';
import { parseArchiveObjectKey } from '../../src/core/layout';
import { parseArchiveObjectMetadata } from '../../src/core/object-metadata';
import { checkJsonlObject } from '../../src/core/verify-content';
import { verifyStream, type StreamVerification } from '../../src/core/verify';
import type { MemoryObjectStore } from './fakes';

/** `reservoir verify`'s checks over an in-memory bucket's JSONL objects and checkpoints (no Parquet). */
export function verifyMemoryStore(
  store: MemoryObjectStore,
  stream: string,
  options: { mayExpire?: boolean; deep?: boolean } = {},
): StreamVerification {
  const archived = [...store.objects.entries()].filter(
    ([key]) => parseArchiveObjectKey(key)?.stream === stream,
  );
  const checkpoints = [...store.objects.entries()]
    .filter(([key]) => key.includes(`checkpoints/stream=${stream}/`))
    .map(([, object]) => JSON.parse(object.body.toString('utf8')) as unknown)
    .filter((value): value is Checkpoint => isCheckpoint(value));
  const objects = archived.map(([key, object]) => ({
    key,
    bytes: object.body.length,
    ...parseArchiveObjectMetadata(object.metadata ?? {}),
  }));
  return verifyStream({
    stream,
    objects,
    checkpoints,
    manifests: [],
    columnarObjects: [],
    acknowledgedGaps: [],
    mayExpire: options.mayExpire ?? false,
    ...(options.deep
      ? {
          contentProblems: new Map(
            objects.map((o) => [o.key, checkJsonlObject(o.key, store.objects.get(o.key)!.body, o.records)]),
          ),
        }
      : {}),
  });
}
