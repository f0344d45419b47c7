import { canonicalJson } from './canonical-json';
import { DRAINED_CHECKPOINT_TAGS } from './checkpoint';
import { ValidationError } from './errors';
import { archiveStreamPrefix, checkpointStreamPrefix } from './layout';

/**
 * Retention per stream (DESIGN.md "Retention"): how long a stream's archive objects are kept,
 * and optionally when they move to a cheaper storage class. A policy becomes two S3 lifecycle
 * rules on the archive bucket, one on the stream's archive prefix and one on its drained
 * checkpoints. Sources: stream tags (applied by every archive run, see ApplyRetention) and the
 * deployment parameter `retention` (compiled into the bucket by deploy/lifecycle-rules.cjs).
 */

export const RETENTION_DAYS_TAG = 'reservoir:retention-days';
export const TRANSITION_DAYS_TAG = 'reservoir:transition-days';
export const TRANSITION_CLASS_TAG = 'reservoir:transition-class';
const RETENTION_TAGS = [RETENTION_DAYS_TAG, TRANSITION_DAYS_TAG, TRANSITION_CLASS_TAG];

export const STORAGE_CLASSES = [
  'STANDARD_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];
export const DEFAULT_TRANSITION_CLASS: StorageClass = 'STANDARD_IA';

/** S3 refuses transitions to the infrequent-access classes before an object is 30 days old. */
const MIN_TRANSITION_DAYS: Partial<Record<StorageClass, number>> = { STANDARD_IA: 30 };
/** An Int in S3's lifecycle XML. */
const MAX_DAYS = 2_147_483_647;
/** Kinesis' longest retention (365 days), assumed when a stream's own retention is not known. */
export const MAX_STREAM_RETENTION_HOURS = 8760;
/** S3 allows at most 1,000 rules in a bucket's lifecycle configuration. */
export const MAX_LIFECYCLE_RULES = 1000;

export interface RetentionPolicy {
  stream: string;
  /** Archive objects expire this many days after they were written. */
  expireDays: number;
  transition?: { days: number; storageClass: StorageClass };
  /**
   * The stream's retention period (DescribeStreamSummary), when known: drained checkpoints must
   * outlive it (see checkpointExpireDays). Unknown means Kinesis' maximum, 365 days.
   */
  streamRetentionHours?: number;
}

export const archiveRuleId = (stream: string) => `reservoir-archive-${stream}`;
export const checkpointRuleId = (stream: string) => `reservoir-checkpoints-${stream}`;

// ---- parsing ---------------------------------------------------------------------------------

function wholeDays(text: string, min: number): number | null {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value >= min && value <= MAX_DAYS ? value : null;
}

function storageClass(text: string): StorageClass | null {
  const upper = text.trim().toUpperCase();
  return (STORAGE_CLASSES as readonly string[]).includes(upper) ? (upper as StorageClass) : null;
}

/** The rules S3 enforces on a rule's days, as a message, or null when the policy is valid. */
function policyProblem(policy: RetentionPolicy): string | null {
  const transition = policy.transition;
  if (!transition) return null;
  const min = MIN_TRANSITION_DAYS[transition.storageClass] ?? 0;
  if (transition.days < min) {
    return `a transition to ${transition.storageClass} needs at least ${min} days (an S3 minimum), got ${transition.days}`;
  }
  if (transition.days >= policy.expireDays) {
    return `the transition (after ${transition.days} days) must come before the expiration (after ${policy.expireDays} days)`;
  }
  return null;
}

/** Whether any of the retention tags is set on the stream (valid or not). */
export function hasRetentionTags(tags: Record<string, string>): boolean {
  return RETENTION_TAGS.some((key) => tags[key] !== undefined);
}

export type TagRetention = { policy: RetentionPolicy | null; problem?: undefined } | { problem: string };

/**
 * The policy a stream's tags ask for: `reservoir:retention-days` = N (required for the other
 * two), `reservoir:transition-days` = N, `reservoir:transition-class` (default STANDARD_IA).
 * `policy: null` when none of the tags is set. A malformed tag is a `problem` naming the stream,
 * the tag and the rule — reported by the run, never thrown: other streams keep archiving.
 */
export function retentionFromTags(stream: string, tags: Record<string, string>): TagRetention {
  if (!hasRetentionTags(tags)) return { policy: null };
  const fail = (message: string) => ({ problem: `stream ${stream}: ${message}` });
  const daysTag = tags[RETENTION_DAYS_TAG];
  const transitionDaysTag = tags[TRANSITION_DAYS_TAG];
  const classTag = tags[TRANSITION_CLASS_TAG];

  if (daysTag === undefined) {
    const given = transitionDaysTag !== undefined ? TRANSITION_DAYS_TAG : TRANSITION_CLASS_TAG;
    return fail(`tag ${given} needs tag ${RETENTION_DAYS_TAG} (how many days archive objects are kept)`);
  }
  const expireDays = wholeDays(daysTag, 1);
  if (expireDays === null) {
    return fail(`tag ${RETENTION_DAYS_TAG} must be a whole number of days >= 1, got "${daysTag}"`);
  }
  const policy: RetentionPolicy = { stream, expireDays };
  if (transitionDaysTag === undefined) {
    if (classTag !== undefined) return fail(`tag ${TRANSITION_CLASS_TAG} needs tag ${TRANSITION_DAYS_TAG}`);
    return { policy };
  }
  const days = wholeDays(transitionDaysTag, 0);
  if (days === null) {
    return fail(`tag ${TRANSITION_DAYS_TAG} must be a whole number of days >= 0, got "${transitionDaysTag}"`);
  }
  const cls = classTag === undefined ? DEFAULT_TRANSITION_CLASS : storageClass(classTag);
  if (cls === null) {
    return fail(
      `tag ${TRANSITION_CLASS_TAG} must be one of ${STORAGE_CLASSES.join(', ')}, got "${classTag}"`,
    );
  }
  policy.transition = { days, storageClass: cls };
  const problem = policyProblem(policy);
  return problem ? fail(`tags ${RETENTION_DAYS_TAG} and ${TRANSITION_DAYS_TAG}: ${problem}`) : { policy };
}

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const PARAMETER_ENTRY = /^([^=]*)=(\d+)(?::([A-Za-z_]+)@(\d+))?$/;
export const RETENTION_PARAMETER_SYNTAX = 'STREAM=DAYS[:STORAGE_CLASS@DAYS], comma-separated';

/**
 * The deployment parameter `retention`: comma-separated `STREAM=DAYS[:STORAGE_CLASS@DAYS]`,
 * e.g. `orders=30,payments=365:STANDARD_IA@30` (orders kept 30 days; payments kept 365 days,
 * moved to STANDARD_IA after 30). Empty means none. Throws a ValidationError naming the entry.
 */
export function parseRetentionParameter(text: string): RetentionPolicy[] {
  const policies: RetentionPolicy[] = [];
  const entries = text.trim() === '' ? [] : text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const fail = (message: string) =>
      new ValidationError(
        `parameter retention: entry "${entry}": ${message} (syntax: ${RETENTION_PARAMETER_SYNTAX}, e.g. orders=30,payments=365:STANDARD_IA@30)`,
      );
    const match = PARAMETER_ENTRY.exec(entry);
    if (!match) throw fail('not STREAM=DAYS or STREAM=DAYS:STORAGE_CLASS@DAYS');
    const [, name = '', daysText = '', classText, transitionText] = match;
    const stream = name.trim();
    if (!STREAM_NAME.test(stream)) throw fail(`"${stream}" is not a stream name ([a-zA-Z0-9_.-], 1 to 128)`);
    if (policies.some((p) => p.stream === stream)) throw fail(`stream ${stream} is listed twice`);
    const expireDays = wholeDays(daysText, 1);
    if (expireDays === null) throw fail(`the days to keep must be a whole number >= 1, got "${daysText}"`);
    const policy: RetentionPolicy = { stream, expireDays };
    if (classText !== undefined && transitionText !== undefined) {
      const cls = storageClass(classText);
      if (cls === null)
        throw fail(`the storage class must be one of ${STORAGE_CLASSES.join(', ')}, got "${classText}"`);
      const days = wholeDays(transitionText, 0);
      if (days === null) throw fail(`the transition days must be a whole number, got "${transitionText}"`);
      policy.transition = { days, storageClass: cls };
    }
    const problem = policyProblem(policy);
    if (problem) throw fail(problem);
    policies.push(policy);
  }
  return policies;
}

// ---- rules -------------------------------------------------------------------------------------

export interface LifecycleTag {
  Key: string;
  Value: string;
}

/**
 * A lifecycle rule in the AWS SDK's `LifecycleRule` shape (the JSON of
 * GetBucketLifecycleConfiguration / PutBucketLifecycleConfiguration). Other tools' rules pass
 * through reservoir untouched, whatever fields they have.
 */
export interface LifecycleRuleJson {
  ID?: string;
  Status?: string;
  Prefix?: string;
  Filter?: { Prefix?: string; Tag?: LifecycleTag; And?: { Prefix?: string; Tags?: LifecycleTag[] } };
  Expiration?: { Days?: number };
  Transitions?: { Days?: number; StorageClass?: string }[];
  [field: string]: unknown;
}

/**
 * Days after which a drained shard's checkpoint expires: at least as long as the stream's
 * archive objects are kept (replay reads a shard's lineage from its checkpoint, and every object
 * of a drained shard is older than its drained checkpoint), and longer than the stream's
 * retention period plus a day. The second bound matters: a drained parent shard is still listed
 * by Kinesis until its records age out of the stream, and while it is listed its children wait
 * for its checkpoint to say "drained" — a parent whose checkpoint had expired would be read
 * again from its trim horizon. Only drained checkpoints expire (they carry the tag
 * reservoir-drained=true); an open or closed-but-unread shard's checkpoint is kept.
 *
 * When the stream's retention is not known (rules compiled at deploy time from the `retention`
 * parameter), Kinesis' maximum (365 days) is assumed: drained checkpoints are a few hundred
 * bytes each, so keeping them up to 366 days costs nothing, and it is safe for every stream.
 * ApplyRetention knows the retention (DiscoverStreams asks DescribeStreamSummary): a stream with
 * the default 24 hours and retention-days=30 keeps drained checkpoints 30 days.
 */
export function checkpointExpireDays(policy: RetentionPolicy): number {
  const retentionHours = policy.streamRetentionHours ?? MAX_STREAM_RETENTION_HOURS;
  return Math.max(policy.expireDays, Math.ceil(retentionHours / 24) + 1);
}

const [DRAINED_TAG_KEY, DRAINED_TAG_VALUE] = Object.entries(DRAINED_CHECKPOINT_TAGS)[0]!;

/** The two rules of one stream's policy, in the SDK's LifecycleRule shape. */
export function lifecycleRulesFor(policy: RetentionPolicy, prefix: string): LifecycleRuleJson[] {
  const archive: LifecycleRuleJson = {
    ID: archiveRuleId(policy.stream),
    Status: 'Enabled',
    Filter: { Prefix: archiveStreamPrefix(prefix, policy.stream) },
    Expiration: { Days: policy.expireDays },
  };
  if (policy.transition) {
    archive.Transitions = [{ Days: policy.transition.days, StorageClass: policy.transition.storageClass }];
  }
  const checkpoints: LifecycleRuleJson = {
    ID: checkpointRuleId(policy.stream),
    Status: 'Enabled',
    Filter: {
      And: {
        Prefix: checkpointStreamPrefix(prefix, policy.stream),
        Tags: [{ Key: DRAINED_TAG_KEY, Value: DRAINED_TAG_VALUE }],
      },
    },
    Expiration: { Days: checkpointExpireDays(policy) },
  };
  return [archive, checkpoints];
}

/**
 * The same two rules per policy in the shape of AWS::S3::Bucket's LifecycleConfiguration, with
 * the key prefix taken from the stack's ArchivePrefix parameter (Fn::Sub). Used by
 * deploy/lifecycle-rules.cjs when serverless.yml is packaged.
 */
export function cloudFormationLifecycleRules(
  policies: readonly RetentionPolicy[],
): Record<string, unknown>[] {
  const prefixed = (key: string) => ({ 'Fn::Sub': `\${ArchivePrefix}${key}` });
  return policies.flatMap((policy) => [
    {
      Id: archiveRuleId(policy.stream),
      Status: 'Enabled',
      Prefix: prefixed(archiveStreamPrefix('', policy.stream)),
      ExpirationInDays: policy.expireDays,
      ...(policy.transition
        ? {
            Transitions: [
              { StorageClass: policy.transition.storageClass, TransitionInDays: policy.transition.days },
            ],
          }
        : {}),
    },
    {
      Id: checkpointRuleId(policy.stream),
      Status: 'Enabled',
      Prefix: prefixed(checkpointStreamPrefix('', policy.stream)),
      TagFilters: [{ Key: DRAINED_TAG_KEY, Value: DRAINED_TAG_VALUE }],
      ExpirationInDays: checkpointExpireDays(policy),
    },
  ]);
}

// ---- merging -----------------------------------------------------------------------------------

/** Fields with no value (undefined, null, empty lists) are absent: the SDK may give either. */
function pruned(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruned);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, pruned(v)]),
  );
}

function sameRules(a: readonly LifecycleRuleJson[], b: readonly LifecycleRuleJson[]): boolean {
  if (a.length !== b.length) return false;
  // Order does not matter to S3.
  const texts = (rules: readonly LifecycleRuleJson[]) => rules.map((r) => canonicalJson(pruned(r))).sort();
  const [left, right] = [texts(a), texts(b)];
  return left.every((text, i) => text === right[i]);
}

export interface MergedLifecycle {
  rules: LifecycleRuleJson[];
  /** False when the bucket already has exactly these rules (nothing to write). */
  changed: boolean;
}

/**
 * The bucket's rules with reservoir's rules of `streams` replaced by `ours`: every other rule —
 * other tools', the stack's own (ExpireRunFiles, ...), and reservoir's rules of streams not in
 * `streams` — is kept as it is, in place. A stream in `streams` without a rule in `ours` loses
 * its reservoir rules (its retention tags were removed). Idempotent: merging the result again
 * changes nothing. Rule ids reservoir-archive-{stream} and reservoir-checkpoints-{stream} are
 * reservoir's.
 */
export function mergeLifecycleRules(
  existing: readonly LifecycleRuleJson[],
  ours: readonly LifecycleRuleJson[],
  streams: readonly string[],
): MergedLifecycle {
  const managed = new Set(streams.flatMap((stream) => [archiveRuleId(stream), checkpointRuleId(stream)]));
  const stray = ours.find((rule) => !managed.has(rule.ID ?? ''));
  if (stray) throw new Error(`rule ${stray.ID ?? '(no id)'} is not one of the managed streams' rules`);
  const rules = [
    ...existing.filter((rule) => !managed.has(rule.ID ?? '')),
    ...[...ours].sort((a, b) => (a.ID! < b.ID! ? -1 : a.ID! > b.ID! ? 1 : 0)),
  ];
  if (rules.length > MAX_LIFECYCLE_RULES) {
    throw new ValidationError(
      `the archive bucket's lifecycle configuration would have ${rules.length} rules; S3 allows at most ` +
        `${MAX_LIFECYCLE_RULES} (reservoir adds 2 per stream with retention)`,
    );
  }
  return { rules, changed: !sameRules(existing, rules) };
}
