import { readArchiveObject } from '../archive/archive-reader';
import { mapWithConcurrency } from '../core/concurrency';
import { hourStart } from '../core/layout';
import type { ObjectStore } from '../core/ports';
import type { ReplayWorkItem } from '../core/replay-plan';
import { CheckpointConflictError, CorruptStateError, ValidationError } from '../core/errors';
import {
  paceSchedule,
  REPLAY_MAX_CONCURRENCY,
  type PaceSchedule,
  type ReplayPace,
} from '../core/replay-pace';
import type { ResolvedReplay } from '../core/replay-request';
import type { StoredReplayPlan } from './plan-replay';
import type { ReplayProgress } from './replay-worker';
import { replayRunFiles } from './run-files';

/** What PlanReplay fixes of a paced replay's schedule; the start is fixed by the first item to run. */
export interface PacePlan {
  /** Which execution's plan (PlanReplay's time): a start file of another plan is stale. */
  plannedAt: number;
  originArrival: number;
  items: number;
  /** Where a replay run again stands (null: at the origin). */
  resumeArrival: number | null;
}

/**
 * Fixes a paced replay's schedule for this execution (PlanReplay calls it after planning). The
 * first execution counts from the first record in bounds; a later execution of the same replay
 * keeps that origin and resumes where the replay stands. The start time is not fixed here: the
 * first work item to run fixes it (`paceScheduleOf`), so that the time items take to start
 * (Lambda cold starts, the Map's scheduling) does not crowd the first records together.
 */
export async function storePacePlan(
  store: ObjectStore,
  prefix: string,
  replay: ResolvedReplay,
  now: number,
): Promise<PacePlan | null> {
  if (!replay.pace) return null;
  const files = replayRunFiles(prefix, replay.replayId);
  const plan = await store.getJson<StoredReplayPlan>(files.plan);
  const itemIds = plan?.value.items.map((item) => item.itemId) ?? [];
  // Every item covers the whole span: items past the Map's concurrency would start when the first
  // ones finished, with all their records overdue, and put them unpaced.
  if (itemIds.length > REPLAY_MAX_CONCURRENCY)
    throw new ValidationError(
      `field pace: a paced replay runs all its work items at once, at most ${REPLAY_MAX_CONCURRENCY}; ` +
        `this one has ${itemIds.length} (one per shard family): replay fewer shards, or without pace`,
    );
  const earlier = await store.getJson<PacePlan>(files.pace);
  const pacePlan: PacePlan = {
    plannedAt: now,
    originArrival:
      earlier?.value.originArrival ??
      (await arrivalBound(store, files, itemIds, replay, 'first')) ??
      replay.fromMs,
    items: itemIds.length,
    resumeArrival: earlier ? await resumePoint(store, files, itemIds) : null,
  };
  await store.putJson(files.pace, pacePlan);
  return pacePlan;
}

/**
 * A work item's schedule: the execution's pace plan, started when the first item ran. The first
 * item creates the start file (If-None-Match); every other item, and later invocations, read it.
 */
export async function paceScheduleOf(
  store: ObjectStore,
  files: ReturnType<typeof replayRunFiles>,
  pace: ReplayPace,
  now: number,
): Promise<PaceSchedule> {
  const plan = await store.getJson<PacePlan>(files.pace);
  if (!plan) throw new CorruptStateError(`Paced replay plan ${files.pace} is missing (PlanReplay writes it)`);
  const start = await scheduleStart(store, files.paceStart, plan.value.plannedAt, now);
  return paceSchedule(pace, { now: start, ...plan.value });
}

/** The start of this plan's schedule: the stored one, or now (If-None-Match / If-Match on a stale one). */
async function scheduleStart(
  store: ObjectStore,
  key: string,
  plannedAt: number,
  now: number,
): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await store.getJson<{ plannedAt: number; startAt: number }>(key);
    if (stored?.value.plannedAt === plannedAt) return stored.value.startAt;
    try {
      await store.putJsonIfMatch(key, { plannedAt, startAt: now }, stored?.etag ?? null);
      return now;
    } catch (error) {
      // Another item started the schedule first: read its start.
      if (!(error instanceof CheckpointConflictError)) throw error;
    }
  }
  throw new CorruptStateError(`Paced replay start ${key} keeps changing`);
}

/**
 * The earliest arrival in bounds among the items' first records (`first`), or the latest among
 * their last archived records (`last`, for plans): each item's archive segments are read in order
 * (backwards for `last`) until one holds a record in bounds (usually the first). Parquet segments
 * count from their hour's start (or end); live tails are not read (they follow the archive).
 */
export async function arrivalBound(
  store: ObjectStore,
  files: ReturnType<typeof replayRunFiles>,
  itemIds: string[],
  replay: ResolvedReplay,
  end: 'first' | 'last',
): Promise<number | null> {
  const bounds = (
    await mapWithConcurrency(itemIds, 8, (itemId) => boundaryArrival(store, files, itemId, replay, end))
  ).filter((t): t is number => t !== null);
  if (bounds.length === 0) return null;
  return end === 'first' ? Math.min(...bounds) : Math.max(...bounds);
}

async function boundaryArrival(
  store: ObjectStore,
  files: ReturnType<typeof replayRunFiles>,
  itemId: string,
  replay: ResolvedReplay,
  end: 'first' | 'last',
): Promise<number | null> {
  const item = (await store.getJson<ReplayWorkItem>(files.item(itemId)))?.value;
  const segments = (item?.segments ?? []).filter((segment) => segment.type !== 'live');
  if (end === 'last') segments.reverse();
  for (const segment of segments) {
    if (segment.type === 'parquet') {
      const hour = hourOfKey(segment.key) ?? replay.fromMs;
      return end === 'first' ? Math.max(replay.fromMs, hour) : Math.min(replay.toMs, hour + 3_600_000);
    }
    const arrivals = (await readArchiveObject(store, segment.key))
      .map((line) => line.arrivalTimestamp)
      .filter((t) => t >= replay.fromMs && t < replay.toMs);
    if (arrivals.length > 0) return end === 'first' ? Math.min(...arrivals) : Math.max(...arrivals);
  }
  return null;
}

/** `…/dt=YYYY-MM-DD/hr=HH/…` of an archive or Parquet key, as epoch ms. */
function hourOfKey(key: string): number | null {
  const match = /dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\//.exec(key);
  return match ? hourStart(Date.parse(`${match[1]}T${match[2]}:00:00Z`)) : null;
}

/** Where an interrupted paced replay stands: the earliest last-put arrival of its unfinished items. */
async function resumePoint(
  store: ObjectStore,
  files: ReturnType<typeof replayRunFiles>,
  itemIds: string[],
): Promise<number | null> {
  const progress = await mapWithConcurrency(
    itemIds,
    16,
    async (itemId) => (await store.getJson<ReplayProgress>(files.progress(itemId)))?.value ?? null,
  );
  const unfinished = progress.filter((p) => !p?.done);
  // An unfinished item that has put nothing yet starts at the origin.
  if (unfinished.some((p) => p?.lastArrival === undefined)) return null;
  const points = unfinished.map((p) => p!.lastArrival!);
  return points.length > 0 ? Math.min(...points) : null;
}
