import { randomUUID } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json';
import { StreamNotFoundError, ValidationError } from '../core/errors';
import { validateFilter } from '../core/filter-pattern';
import { checkpointStreamPrefix } from '../core/layout';
import type { ObjectStore, RecordWriter, StreamCatalog } from '../core/ports';
import type { ReadRate } from '../core/read-budget';
import type { ReadDefaults } from '../core/read-policy';
import { DEFAULT_MAX_RECORD_BYTES } from '../core/record-size';
import { streamReadPolicy } from '../reading/stream-read-policy';
import {
  generateReplayId,
  matchesAllowList,
  resolveReplayRequest,
  type ReplayRequest,
  type ResolvedReplay,
} from '../core/replay-request';
import { replayRunFiles, type ReplayStopMarker } from './run-files';

interface StoredRequest {
  request: ReplayRequest;
  resolved: ResolvedReplay;
}

/** Same request, ignoring the id and key order: a resumed replay must be the same replay. */
function sameRequest(a: ReplayRequest, b: ReplayRequest): boolean {
  return canonicalJson({ ...a, replayId: undefined }) === canonicalJson({ ...b, replayId: undefined });
}

/**
 * Checks a schema-valid request against what only the deployment knows (target allow-list,
 * target exists, filter syntax) and records it under its replay id. Re-running an id resumes
 * the stored replay (same bounds, same start time) rather than starting another.
 */
export async function startReplay(
  deps: {
    store: ObjectStore;
    writer: RecordWriter;
    catalog: StreamCatalog;
    read: ReadDefaults;
    prefix: string;
    replayTargets: string[];
    now: Date;
  },
  request: ReplayRequest,
): Promise<{ replay: ResolvedReplay; resumed: boolean }> {
  const replayId = request.replayId ?? generateReplayId(request.stream, deps.now, randomUUID().slice(0, 8));
  const files = replayRunFiles(deps.prefix, replayId);
  const stored = await deps.store.getJson<StoredRequest>(files.request);
  if (stored) {
    if (!sameRequest(stored.value.request, request)) {
      throw new ValidationError(
        `field replayId: ${replayId} already names a different replay request (unique)`,
      );
    }
    // Running a stopped replay again resumes it: its items must not see the old stop (a marker
    // without a cause; overwritten, not deleted, so the roles need no s3:DeleteObject).
    const stop = await deps.store.getJson<ReplayStopMarker>(files.stopped);
    if (stop?.value.cause) {
      // A new run number: items of the stopped run still in flight end at their next flush
      // without saving over this run's progress.
      const marker: ReplayStopMarker = {
        cause: null,
        resumedAt: deps.now.toISOString(),
        run: (stop.value.run ?? 0) + 1,
      };
      await deps.store.putJson(files.stopped, marker);
    }
    // The target's limit may have been raised since (a record too large for it failed the replay).
    const replay = await withTargetLimit(deps, stored.value.resolved);
    if (replay.targetMaxRecordBytes !== stored.value.resolved.targetMaxRecordBytes) {
      await deps.store.putJson(files.request, {
        request: stored.value.request,
        resolved: replay,
      } satisfies StoredRequest);
    }
    return { replay, resumed: true };
  }

  const resolved = resolveReplayRequest(request, deps.now, replayId);
  if (request.filter !== undefined) validateFilter(request.filter, 'filter');
  await assertTargetAllowed(deps, resolved.target);
  try {
    await deps.writer.assertStreamExists(resolved.target);
  } catch (error) {
    if ((error as Error).name === 'StreamNotFoundError') {
      throw new ValidationError(`field target: stream ${resolved.target} does not exist (exists)`);
    }
    throw error;
  }
  const replay = await withTargetLimit(
    deps,
    resolved.includeLive ? { ...resolved, readRate: await liveReadRate(deps, resolved.stream) } : resolved,
  );
  await deps.store.putJson(files.request, { request, resolved: replay } satisfies StoredRequest);
  return { replay, resumed: false };
}

async function assertTargetAllowed(
  deps: { store: ObjectStore; prefix: string; replayTargets: string[] },
  target: string,
): Promise<void> {
  if (deps.replayTargets.length > 0) {
    if (!matchesAllowList(target, deps.replayTargets)) {
      throw new ValidationError(
        `field target: ${target} is not on the replay target allow-list (${deps.replayTargets.join(', ')}) (allowList)`,
      );
    }
    return;
  }
  // Default allow-list: the archived streams themselves.
  const archived = await deps.store.listKeys(checkpointStreamPrefix(deps.prefix, target));
  if (archived.length === 0) {
    throw new ValidationError(
      `field target: ${target} is not an archived stream; replay targets default to the archived streams (set replayTargets / RESERVOIR_REPLAY_TARGETS) (allowList)`,
    );
  }
}

/** The source stream's polling rate (its read policy); the default once the stream is gone. */
async function liveReadRate(
  deps: { catalog: StreamCatalog; read: ReadDefaults },
  stream: string,
): Promise<ReadRate> {
  try {
    return (await streamReadPolicy(deps.catalog, stream, deps.read)).policy.rate;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return deps.read.defaultRate;
    throw error;
  }
}

/** The replay with its target's maximum record size, as DescribeStreamSummary says it now. */
async function withTargetLimit(
  deps: { catalog: StreamCatalog },
  replay: ResolvedReplay,
): Promise<ResolvedReplay> {
  const summary = await deps.catalog.describeStream(replay.target);
  return { ...replay, targetMaxRecordBytes: summary.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES };
}
