import { SHARD_READ_LIMITS, type ReadRate } from './read-budget';

/** Stream tag: the share of each shard's read limits (5 calls/s, 2 MB/s) reservoir may poll with. */
export const READ_SHARE_TAG = 'reservoir:read-share';
/** Stream tag: `efo` reads the stream with enhanced fan-out instead of polling. */
export const READ_MODE_TAG = 'reservoir:read-mode';

export type StreamReadMode = 'polling' | 'efo';

/** How reservoir reads one stream, from the deployment's settings and the stream's tags. */
export interface StreamReadPolicy {
  mode: StreamReadMode;
  /** The polling rate per shard (unused with enhanced fan-out). */
  rate: ReadRate;
  /** The share of the shard's limits the rate is; null when it is the default rate. */
  share: number | null;
}

export interface ReadDefaults {
  /** Per shard and process, when neither the deployment nor a tag sets a share. */
  defaultRate: ReadRate;
  /** Deployment parameter readShares: stream → share. */
  shares: Readonly<Record<string, number>>;
  /** Deployment parameter efoStreams. */
  efoStreams: readonly string[];
}

/** `0.5` → 0.5; anything but a number in (0, 1] → null. */
export function parseReadShare(raw: string): number | null {
  const value = Number(raw.trim());
  return raw.trim() !== '' && Number.isFinite(value) && value > 0 && value <= 1 ? value : null;
}

/** The polling rate of a share of a shard's read limits. */
export function rateOfShare(share: number): ReadRate {
  return {
    callsPerSecond: SHARD_READ_LIMITS.callsPerSecond * share,
    bytesPerSecond: SHARD_READ_LIMITS.bytesPerSecond * share,
  };
}

/**
 * The deployment's setting wins over the stream's tag (as with retention: what the stack sets,
 * a tag cannot undo); a malformed tag is reported and the default used.
 */
export function readPolicyFor(
  stream: string,
  tags: Readonly<Record<string, string>>,
  defaults: ReadDefaults,
): { policy: StreamReadPolicy; problems: string[] } {
  const problems: string[] = [];
  const tagMode = tags[READ_MODE_TAG]?.trim().toLowerCase();
  if (tagMode !== undefined && tagMode !== 'efo' && tagMode !== 'polling') {
    problems.push(
      `${stream}: tag ${READ_MODE_TAG}="${tags[READ_MODE_TAG]}" is neither efo nor polling; polling`,
    );
  }
  const mode: StreamReadMode = defaults.efoStreams.includes(stream) || tagMode === 'efo' ? 'efo' : 'polling';

  let share: number | null = defaults.shares[stream] ?? null;
  const tagShare = tags[READ_SHARE_TAG];
  if (share === null && tagShare !== undefined) {
    share = parseReadShare(tagShare);
    if (share === null) {
      problems.push(`${stream}: tag ${READ_SHARE_TAG}="${tagShare}" is not a number in (0, 1]; default rate`);
    }
  }
  return {
    policy: { mode, rate: share === null ? defaults.defaultRate : rateOfShare(share), share },
    problems,
  };
}

/** What made readPolicyFor choose the stream's mode, as `reservoir cost` shows it. */
export function readModeSource(
  stream: string,
  tags: Readonly<Record<string, string>>,
  defaults: Pick<ReadDefaults, 'efoStreams'>,
): string {
  if (defaults.efoStreams.includes(stream)) return 'RESERVOIR_EFO_STREAMS';
  const tagMode = tags[READ_MODE_TAG]?.trim().toLowerCase();
  return tagMode === 'efo' || tagMode === 'polling' ? `tag ${READ_MODE_TAG}` : 'default';
}

/** A rate as the share of a shard's limits it uses: the larger of its calls and bytes shares. */
export function shareOfRate(usage: { calls: number; bytes: number; seconds: number }): {
  callsPerSecond: number;
  bytesPerSecond: number;
  share: number;
} {
  const seconds = Math.max(usage.seconds, 1);
  const callsPerSecond = usage.calls / seconds;
  const bytesPerSecond = usage.bytes / seconds;
  return {
    callsPerSecond,
    bytesPerSecond,
    share: Math.max(
      callsPerSecond / SHARD_READ_LIMITS.callsPerSecond,
      bytesPerSecond / SHARD_READ_LIMITS.bytesPerSecond,
    ),
  };
}
