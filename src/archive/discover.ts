import { mapWithConcurrency } from '../core/concurrency';
import { ValidationError } from '../core/errors';
import type { StreamCatalog } from '../core/ports';
import { hasRetentionTags, retentionFromTags, type RetentionPolicy } from '../core/retention';

export const ARCHIVE_TAG = 'reservoir:archive';

/** What ApplyRetention sets on the bucket for this run's streams (from their tags). */
export interface RetentionDiscovery {
  /**
   * Streams whose reservoir lifecycle rules this run owns: every stream of the run with valid
   * retention tags or none at all (then its rules are removed), except those whose retention the
   * deployment sets. A stream with a malformed tag is left out: its last good rules stay.
   */
  streams: string[];
  policies: RetentionPolicy[];
  /** Malformed (or ignored) retention tags, one message each: reported, never fatal. */
  problems: string[];
}

/** A stream tagged reservoir:archive=LATEST: archived in full, plus a compacted snapshot. */
export interface LatestStream {
  stream: string;
  /** The compact state machine's input for this run's snapshot. */
  compactRequest: { stream: string; snapshot: true; runId: string; tombstone?: unknown };
}

export interface DiscoveryResult {
  streams: string[];
  /** The streams among `streams` that keep a LATEST snapshot. */
  latest: LatestStream[];
  /** Streams listed in the deployment parameters that do not exist (reported, not fatal). */
  missing: string[];
  retention: RetentionDiscovery;
}

export interface DiscoveryOptions {
  /** The run's id: names each snapshot's compaction run. */
  runId?: string;
  /** Tombstone patterns by stream (deployment parameter latestTombstones). */
  tombstones?: Readonly<Record<string, unknown>>;
  /**
   * Streams whose retention the deployment's `retention` parameter sets (CloudFormation owns
   * their rules): their retention tags are ignored, with a problem reported when present.
   */
  deployedRetentionStreams?: readonly string[];
}

/**
 * The streams one archive run covers. Named in the execution input: exactly those (each must
 * exist). Otherwise: streams tagged reservoir:archive=ALL or LATEST plus those listed in the deployment.
 * Also reads the covered streams' retention tags (see RetentionDiscovery).
 */
export async function discoverStreams(
  catalog: StreamCatalog,
  listedStreams: readonly string[],
  requested: readonly string[] | undefined,
  options: DiscoveryOptions = {},
): Promise<DiscoveryResult> {
  const existing = new Set(await catalog.listStreamNames());
  const tagsOf = new Map<string, Record<string, string>>();
  if (requested && requested.length > 0) {
    const unknown = requested.filter((name) => !existing.has(name));
    if (unknown.length > 0) throw new ValidationError(`field streams: no such stream ${unknown.join(', ')}`);
    const streams = [...new Set(requested)].sort();
    for (const name of streams) tagsOf.set(name, await catalog.listTags(name));
    return {
      streams,
      missing: [],
      latest: latestStreams(streams, tagsOf, options),
      retention: await discoverRetention(catalog, streams, tagsOf, options),
    };
  }
  const selected = new Set<string>();
  for (const name of existing) {
    const tags = await catalog.listTags(name);
    tagsOf.set(name, tags);
    const mode = tags[ARCHIVE_TAG]?.trim().toUpperCase();
    if (mode === 'ALL' || mode === 'LATEST') selected.add(name);
  }
  const missing: string[] = [];
  for (const name of listedStreams) {
    if (existing.has(name)) selected.add(name);
    else missing.push(name);
  }
  const streams = [...selected].sort();
  return {
    streams,
    missing,
    latest: latestStreams(streams, tagsOf, options),
    retention: await discoverRetention(catalog, streams, tagsOf, options),
  };
}

/** Streams tagged LATEST keep their full history (bounded by retention) and a snapshot. */
function latestStreams(
  streams: readonly string[],
  tagsOf: ReadonlyMap<string, Record<string, string>>,
  options: DiscoveryOptions,
): LatestStream[] {
  return streams
    .filter((stream) => tagsOf.get(stream)?.[ARCHIVE_TAG]?.trim().toUpperCase() === 'LATEST')
    .map((stream) => {
      const tombstone = options.tombstones?.[stream];
      return {
        stream,
        compactRequest: {
          stream,
          snapshot: true as const,
          runId: `${options.runId ?? 'snapshot'}-latest-${stream}`.slice(0, 80),
          ...(tombstone !== undefined ? { tombstone } : {}),
        },
      };
    });
}

async function discoverRetention(
  catalog: StreamCatalog,
  streams: readonly string[],
  tagsOf: ReadonlyMap<string, Record<string, string>>,
  options: DiscoveryOptions,
): Promise<RetentionDiscovery> {
  const deployed = new Set(options.deployedRetentionStreams ?? []);
  const managed: string[] = [];
  const found: RetentionPolicy[] = [];
  const problems: string[] = [];
  for (const stream of streams) {
    const tags = tagsOf.get(stream) ?? {};
    if (deployed.has(stream)) {
      if (hasRetentionTags(tags)) {
        problems.push(
          `stream ${stream}: retention tags ignored: the deployment's retention parameter sets this stream's retention`,
        );
      }
      continue;
    }
    const parsed = retentionFromTags(stream, tags);
    if (parsed.problem !== undefined) {
      problems.push(`${parsed.problem}; its lifecycle rules are left as they were`);
      continue;
    }
    managed.push(stream);
    if (parsed.policy) found.push(parsed.policy);
  }
  // Drained checkpoints must outlive the stream's retention (checkpointExpireDays). Without it
  // (e.g. DescribeStreamSummary not allowed), Kinesis' maximum is assumed: longer, never wrong.
  const policies = await mapWithConcurrency(found, 4, async (policy) => {
    try {
      return {
        ...policy,
        streamRetentionHours: (await catalog.describeStream(policy.stream)).retentionHours,
      };
    } catch (error) {
      problems.push(
        `stream ${policy.stream}: retention period unknown (${(error as Error).message}); ` +
          'drained checkpoints are kept 366 days',
      );
      return policy;
    }
  });
  return { streams: managed, policies, problems };
}
