import { canonicalJson } from './canonical-json';
import { DRAINED_CHECKPOINT_TAGS } from './checkpoint';
import { ValidationError } from './errors';
import { columnarStreamPrefix } from './columnar';
import { archiveStreamPrefix, checkpointStreamPrefix, normalizePrefix } from './layout';

/**
 * Retention per stream (DESIGN.md "Retention"): how long a stream's archive objects are kept
 * (its JSON Lines under archive/ and its Parquet under columnar/ alike), optionally when they
 * move to a cheaper storage class, and optionally how long JSON Lines are kept once converted to
 * Parquet. A policy becomes up to four S3 lifecycle rules on the archive bucket (streamRules).
 * Sources: stream tags (applied by every archive run, see ApplyRetention) and the deployment
 * parameters `retention` and `jsonlDays` (compiled into the bucket by deploy/lifecycle-rules.cjs).
 */

export const RETENTION_DAYS_TAG = 'reservoir:retention-days';
export const TRANSITION_DAYS_TAG = 'reservoir:transition-days';
export const TRANSITION_CLASS_TAG = 'reservoir:transition-class';
export const JSONL_DAYS_TAG = 'reservoir:jsonl-days';
const RETENTION_TAGS = [RETENTION_DAYS_TAG, TRANSITION_DAYS_TAG, TRANSITION_CLASS_TAG, JSONL_DAYS_TAG];

/**
 * The tag convertHour puts on an hour's JSONL objects once the hour's manifest lists them (their
 * records are in Parquet): the jsonl-days rule expires only objects with this tag.
 */
export const CONVERTED_JSONL_TAGS: Readonly<Record<string, string>> = { 'reservoir-converted': 'true' };

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
  /**
   * Archive objects (JSONL and Parquet) expire this many days after they were written. Absent:
   * kept forever (a policy with only jsonlDays).
   */
  expireDays?: number;
  /** Needs expireDays. Applies to JSONL and Parquet alike. */
  transition?: { days: number; storageClass: StorageClass };
  /**
   * JSONL objects converted to Parquet (tagged CONVERTED_JSONL_TAGS) expire this many days after
   * they were written; at most expireDays. Objects not converted are never expired by it.
   */
  jsonlDays?: number;
  /**
   * The stream's retention period (DescribeStreamSummary), when known: drained checkpoints must
   * outlive it (see checkpointExpireDays). Unknown means Kinesis' maximum, 365 days.
   */
  streamRetentionHours?: number;
}

export const archiveRuleId = (stream: string) => `reservoir-archive-${stream}`;
export const checkpointRuleId = (stream: string) => `reservoir-checkpoints-${stream}`;
export const columnarRuleId = (stream: string) => `reservoir-columnar-${stream}`;
export const jsonlRuleId = (stream: string) => `reservoir-jsonl-${stream}`;
/** Every rule id reservoir owns for a stream (the longest, with a 128-character name, is 150 characters; S3 allows 255). */
export const streamRuleIds = (stream: string) => [
  archiveRuleId(stream),
  columnarRuleId(stream),
  jsonlRuleId(stream),
  checkpointRuleId(stream),
];
/** Rules per stream at most (streamRuleIds). */
export const MAX_RULES_PER_STREAM = 4;

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
  if (
    policy.jsonlDays !== undefined &&
    policy.expireDays !== undefined &&
    policy.jsonlDays > policy.expireDays
  ) {
    return `JSONL kept after conversion (${policy.jsonlDays} days) must not exceed the archive's retention (${policy.expireDays} days)`;
  }
  const transition = policy.transition;
  if (!transition || policy.expireDays === undefined) return null;
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
 * The policy a stream's tags ask for: `reservoir:retention-days` = N (required for the transition
 * tags), `reservoir:transition-days` = N, `reservoir:transition-class` (default STANDARD_IA),
 * `reservoir:jsonl-days` = N (converted JSONL kept N days; at most retention-days when both are
 * set). `policy: null` when none of the tags is set. A malformed tag is a `problem` naming the
 * stream, the tag and the rule — reported by the run, never thrown: other streams keep archiving.
 */
export function retentionFromTags(stream: string, tags: Record<string, string>): TagRetention {
  if (!hasRetentionTags(tags)) return { policy: null };
  const fail = (message: string) => ({ problem: `stream ${stream}: ${message}` });
  const daysTag = tags[RETENTION_DAYS_TAG];
  const transitionDaysTag = tags[TRANSITION_DAYS_TAG];
  const classTag = tags[TRANSITION_CLASS_TAG];
  const jsonlTag = tags[JSONL_DAYS_TAG];

  const policy: RetentionPolicy = { stream };
  if (jsonlTag !== undefined) {
    const jsonlDays = wholeDays(jsonlTag, 1);
    if (jsonlDays === null) {
      return fail(`tag ${JSONL_DAYS_TAG} must be a whole number of days >= 1, got "${jsonlTag}"`);
    }
    policy.jsonlDays = jsonlDays;
  }
  if (daysTag === undefined) {
    if (transitionDaysTag === undefined && classTag === undefined) return { policy };
    const given = transitionDaysTag !== undefined ? TRANSITION_DAYS_TAG : TRANSITION_CLASS_TAG;
    return fail(`tag ${given} needs tag ${RETENTION_DAYS_TAG} (how many days archive objects are kept)`);
  }
  const expireDays = wholeDays(daysTag, 1);
  if (expireDays === null) {
    return fail(`tag ${RETENTION_DAYS_TAG} must be a whole number of days >= 1, got "${daysTag}"`);
  }
  policy.expireDays = expireDays;
  if (transitionDaysTag === undefined) {
    if (classTag !== undefined) return fail(`tag ${TRANSITION_CLASS_TAG} needs tag ${TRANSITION_DAYS_TAG}`);
  } else {
    const days = wholeDays(transitionDaysTag, 0);
    if (days === null) {
      return fail(
        `tag ${TRANSITION_DAYS_TAG} must be a whole number of days >= 0, got "${transitionDaysTag}"`,
      );
    }
    const cls = classTag === undefined ? DEFAULT_TRANSITION_CLASS : storageClass(classTag);
    if (cls === null) {
      return fail(
        `tag ${TRANSITION_CLASS_TAG} must be one of ${STORAGE_CLASSES.join(', ')}, got "${classTag}"`,
      );
    }
    policy.transition = { days, storageClass: cls };
  }
  const problem = policyProblem(policy);
  if (!problem) return { policy };
  const named =
    policy.jsonlDays !== undefined && policy.jsonlDays > expireDays
      ? `tags ${RETENTION_DAYS_TAG} and ${JSONL_DAYS_TAG}`
      : `tags ${RETENTION_DAYS_TAG} and ${TRANSITION_DAYS_TAG}`;
  return fail(`${named}: ${problem}`);
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

const JSONL_DAYS_ENTRY = /^([^=]*)=(\d+)$/;
export const JSONL_DAYS_PARAMETER_SYNTAX = 'STREAM=DAYS, comma-separated';

/**
 * The deployment parameters `retention` and `jsonlDays` together: `jsonlDays` is comma-separated
 * `STREAM=DAYS`, e.g. `orders=7,payments=30` (converted JSONL of orders kept 7 days, of payments
 * 30). A stream may be in either or both; in both, its DAYS must not exceed its `retention` days.
 * Throws a ValidationError naming the parameter and the entry, on one line.
 */
export function parseRetentionParameters(retention: string, jsonlDays: string): RetentionPolicy[] {
  const policies = parseRetentionParameter(retention);
  const seen = new Set<string>();
  const entries = jsonlDays.trim() === '' ? [] : jsonlDays.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const fail = (message: string) =>
      new ValidationError(
        `parameter jsonlDays: entry "${entry}": ${message} (syntax: ${JSONL_DAYS_PARAMETER_SYNTAX}, e.g. orders=7,payments=30)`,
      );
    const match = JSONL_DAYS_ENTRY.exec(entry);
    if (!match) throw fail('not STREAM=DAYS');
    const [, name = '', daysText = ''] = match;
    const stream = name.trim();
    if (!STREAM_NAME.test(stream)) throw fail(`"${stream}" is not a stream name ([a-zA-Z0-9_.-], 1 to 128)`);
    if (seen.has(stream)) throw fail(`stream ${stream} is listed twice`);
    seen.add(stream);
    const days = wholeDays(daysText, 1);
    if (days === null)
      throw fail(`the days to keep converted JSONL must be a whole number >= 1, got "${daysText}"`);
    const policy = policies.find((p) => p.stream === stream);
    if (policy?.expireDays !== undefined && days > policy.expireDays)
      throw fail(
        `${days} days exceed the ${policy.expireDays} days parameter retention keeps stream ${stream}`,
      );
    if (policy) policy.jsonlDays = days;
    else policies.push({ stream, jsonlDays: days });
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
export function checkpointExpireDays(policy: RetentionPolicy & { expireDays: number }): number {
  const retentionHours = policy.streamRetentionHours ?? MAX_STREAM_RETENTION_HOURS;
  return Math.max(policy.expireDays, Math.ceil(retentionHours / 24) + 1);
}

const [DRAINED_TAG_KEY, DRAINED_TAG_VALUE] = Object.entries(DRAINED_CHECKPOINT_TAGS)[0]!;

const CONVERTED_TAG: LifecycleTag = (([Key, Value]) => ({ Key, Value }))(
  Object.entries(CONVERTED_JSONL_TAGS)[0]!,
);

/**
 * One rule of a stream, whatever the shape it is written in: objects under `key` (relative to the
 * archive prefix), with `tag` when set, expire after `expireDays`, and move to a storage class
 * after `transition`.
 */
export interface StreamRule {
  id: string;
  key: string;
  tag?: LifecycleTag;
  expireDays: number;
  transition?: { days: number; storageClass: StorageClass };
}

/**
 * The rules of one stream's policy — the only place they are built (ApplyRetention writes them
 * with lifecycleRulesFor, the stack with cloudFormationLifecycleRules):
 *
 * - reservoir-archive-{stream}: the JSONL under archive/stream={stream}/ (expiration, transition);
 * - reservoir-columnar-{stream}: the Parquet under columnar/stream={stream}/, the same;
 * - reservoir-jsonl-{stream}: JSONL tagged reservoir-converted=true expires after jsonlDays;
 * - reservoir-checkpoints-{stream}: drained checkpoints (checkpointExpireDays).
 *
 * Without expireDays only the jsonl rule; without jsonlDays no jsonl rule.
 */
export function streamRules(policy: RetentionPolicy): StreamRule[] {
  const rules: StreamRule[] = [];
  const { stream, expireDays, transition, jsonlDays } = policy;
  if (expireDays !== undefined) {
    const kept = { expireDays, ...(transition ? { transition } : {}) };
    rules.push({ id: archiveRuleId(stream), key: archiveStreamPrefix('', stream), ...kept });
    rules.push({ id: columnarRuleId(stream), key: columnarStreamPrefix('', stream), ...kept });
  }
  if (jsonlDays !== undefined) {
    rules.push({
      id: jsonlRuleId(stream),
      key: archiveStreamPrefix('', stream),
      tag: CONVERTED_TAG,
      expireDays: jsonlDays,
    });
  }
  if (expireDays !== undefined) {
    rules.push({
      id: checkpointRuleId(stream),
      key: checkpointStreamPrefix('', stream),
      tag: { Key: DRAINED_TAG_KEY, Value: DRAINED_TAG_VALUE },
      expireDays: checkpointExpireDays({ ...policy, expireDays }),
    });
  }
  return rules;
}

/** One stream's rules in the SDK's LifecycleRule shape. */
export function lifecycleRulesFor(policy: RetentionPolicy, prefix: string): LifecycleRuleJson[] {
  return streamRules(policy).map((rule) => {
    const key = `${normalizePrefix(prefix)}${rule.key}`;
    return {
      ID: rule.id,
      Status: 'Enabled',
      Filter: rule.tag ? { And: { Prefix: key, Tags: [rule.tag] } } : { Prefix: key },
      Expiration: { Days: rule.expireDays },
      ...(rule.transition
        ? { Transitions: [{ Days: rule.transition.days, StorageClass: rule.transition.storageClass }] }
        : {}),
    };
  });
}

/**
 * The same rules in the shape of AWS::S3::Bucket's LifecycleConfiguration, with the key prefix
 * taken from the stack's ArchivePrefix parameter (Fn::Sub). Used by deploy/lifecycle-rules.cjs
 * when serverless.yml is packaged.
 */
export function cloudFormationLifecycleRules(
  policies: readonly RetentionPolicy[],
): Record<string, unknown>[] {
  return policies.flatMap(streamRules).map((rule) => ({
    Id: rule.id,
    Status: 'Enabled',
    Prefix: { 'Fn::Sub': `\${ArchivePrefix}${rule.key}` },
    ...(rule.tag ? { TagFilters: [rule.tag] } : {}),
    ExpirationInDays: rule.expireDays,
    ...(rule.transition
      ? {
          Transitions: [
            { StorageClass: rule.transition.storageClass, TransitionInDays: rule.transition.days },
          ],
        }
      : {}),
  }));
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
 * changes nothing. The rule ids of streamRuleIds (reservoir-archive-, -columnar-, -jsonl- and
 * -checkpoints-{stream}) are reservoir's.
 */
export function mergeLifecycleRules(
  existing: readonly LifecycleRuleJson[],
  ours: readonly LifecycleRuleJson[],
  streams: readonly string[],
): MergedLifecycle {
  const managed = new Set(streams.flatMap(streamRuleIds));
  const stray = ours.find((rule) => !managed.has(rule.ID ?? ''));
  if (stray) throw new Error(`rule ${stray.ID ?? '(no id)'} is not one of the managed streams' rules`);
  const rules = [
    ...existing.filter((rule) => !managed.has(rule.ID ?? '')),
    ...[...ours].sort((a, b) => (a.ID! < b.ID! ? -1 : a.ID! > b.ID! ? 1 : 0)),
  ];
  if (rules.length > MAX_LIFECYCLE_RULES) {
    throw new ValidationError(
      `the archive bucket's lifecycle configuration would have ${rules.length} rules; S3 allows at most ` +
        `${MAX_LIFECYCLE_RULES} (reservoir adds up to ${MAX_RULES_PER_STREAM} per stream with retention)`,
    );
  }
  return { rules, changed: !sameRules(existing, rules) };
}
