import { archiveStreamPrefix, checkpointsPrefix, streamsOfCheckpointKeys } from '../core/layout';
import { closestName } from '../core/stream-names';
import type { ArchiveLocation } from './archive-location';
import { CommandFailure } from './output';

/**
 * Fails, in one line, when a named stream neither exists in Kinesis nor has an archive: a
 * mistyped name must never read as an empty archive ("read 0, put 0"). Suggests the closest
 * known name.
 */
export async function requireKnownStreams(
  names: readonly string[] | undefined,
  location: Pick<ArchiveLocation, 'catalog' | 'store' | 'bucket' | 'prefix'>,
): Promise<void> {
  if (!names?.length) return;
  // The archive decides when Kinesis cannot be asked (no permission, no emulator): reading an
  // archive needs only S3.
  let kinesisProblem: string | null = null;
  const [existing, archived] = await Promise.all([
    location.catalog.listStreamNames().catch((error: Error) => {
      kinesisProblem = `${error.name}: ${error.message}`;
      return [] as string[];
    }),
    location.store.listKeys(checkpointsPrefix(location.prefix)).then(streamsOfCheckpointKeys),
  ]);
  const known = new Set([...existing, ...archived]);
  for (const name of names) {
    if (known.has(name)) continue;
    // Objects whose checkpoints have expired still make an archive.
    if (await location.store.firstKey(archiveStreamPrefix(location.prefix, name))) continue;
    const suggestion = closestName(name, known);
    throw new CommandFailure(
      `stream "${name}" has no archive in s3://${location.bucket}/${location.prefix} and ` +
        (kinesisProblem ? `Kinesis could not be asked (${kinesisProblem})` : 'does not exist in Kinesis') +
        (suggestion ? ` (did you mean "${suggestion}"?)` : ''),
    );
  }
}
