import { KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { kinesisClient } from '../aws/clients';
import { archiveStreamPrefix, checkpointsPrefix, streamsOfCheckpointKeys } from '../core/layout';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { closestName } from '../core/stream-names';
import { CommandFailure } from './output';

export interface StreamCheckDeps {
  catalog: Pick<StreamCatalog, 'listStreamNames'>;
  store: Pick<ObjectStore, 'listKeys'>;
  prefix: string;
  /** How the archive is named in the message, e.g. s3://bucket/prefix. */
  archive: string;
}

/**
 * Fails, in one line, when a named stream neither exists in Kinesis nor has an archive: a
 * mistyped name must never read as an empty archive ("read 0, put 0"). Suggests the closest
 * known name.
 */
export async function requireKnownStreams(names: string[], deps: StreamCheckDeps): Promise<void> {
  if (names.length === 0) return;
  const [existing, archived] = await Promise.all([
    deps.catalog.listStreamNames(),
    deps.store.listKeys(checkpointsPrefix(deps.prefix)).then(streamsOfCheckpointKeys),
  ]);
  const known = new Set([...existing, ...archived]);
  for (const name of names) {
    if (known.has(name)) continue;
    // Objects whose checkpoints have expired still make an archive.
    if ((await deps.store.listKeys(archiveStreamPrefix(deps.prefix, name))).length > 0) continue;
    const suggestion = closestName(name, known);
    throw new CommandFailure(
      `stream "${name}" has no archive in ${deps.archive} and does not exist in Kinesis` +
        (suggestion ? ` (did you mean "${suggestion}"?)` : ''),
    );
  }
}

/** The deps over this process's Kinesis client (the user's endpoint and credentials). */
export function streamCheckDeps(store: ObjectStore, bucket: string, prefix: string): StreamCheckDeps {
  return {
    catalog: new KinesisStreamCatalog(kinesisClient()),
    store,
    prefix,
    archive: `s3://${bucket}/${prefix}`,
  };
}
