import { ValidationError } from '../core/errors';
import type { StreamCatalog } from '../core/ports';

export const ARCHIVE_TAG = 'reservoir:archive';

export interface DiscoveryResult {
  streams: string[];
  /** Streams listed in the deployment parameters that do not exist (reported, not fatal). */
  missing: string[];
}

/**
 * The streams one archive run covers. Named in the execution input: exactly those (each must
 * exist). Otherwise: streams tagged reservoir:archive=ALL plus those listed in the deployment.
 */
export async function discoverStreams(
  catalog: StreamCatalog,
  listedStreams: readonly string[],
  requested: readonly string[] | undefined,
): Promise<DiscoveryResult> {
  const existing = new Set(await catalog.listStreamNames());
  if (requested && requested.length > 0) {
    const unknown = requested.filter((name) => !existing.has(name));
    if (unknown.length > 0) throw new ValidationError(`field streams: no such stream ${unknown.join(', ')}`);
    return { streams: [...requested].sort(), missing: [] };
  }
  const selected = new Set<string>();
  for (const name of existing) {
    const tags = await catalog.listTags(name);
    if (tags[ARCHIVE_TAG]?.trim().toUpperCase() === 'ALL') selected.add(name);
  }
  const missing: string[] = [];
  for (const name of listedStreams) {
    if (existing.has(name)) selected.add(name);
    else missing.push(name);
  }
  return { streams: [...selected].sort(), missing };
}
