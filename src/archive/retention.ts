import type { BucketLifecycle } from '../core/ports';
import { lifecycleRulesFor, mergeLifecycleRules } from '../core/retention';
import type { RetentionDiscovery } from './discover';

export interface ApplyRetentionResult {
  /** True when the bucket's lifecycle configuration was written (it differed). */
  changed: boolean;
  /** Streams with a policy, i.e. with reservoir rules now (the output stays small: no other list). */
  streamsWithRules: string[];
  /** Malformed or ignored retention tags (from DiscoverStreams), reported in the summary. */
  problems: string[];
}

/**
 * Makes the bucket's lifecycle rules match the discovered retention policies: reads the
 * configuration, replaces reservoir's rules of the managed streams (every other rule is kept),
 * and writes it back only when that changed it. Re-applied on every run, so a deploy that reset
 * the configuration (CloudFormation owns it) is repaired by the next archive run.
 */
export async function applyRetention(
  lifecycle: BucketLifecycle,
  prefix: string,
  retention: RetentionDiscovery,
): Promise<ApplyRetentionResult> {
  const result = {
    changed: false,
    streamsWithRules: retention.policies.map((policy) => policy.stream),
    problems: retention.problems,
  };
  if (retention.streams.length === 0) return result;
  const current = await lifecycle.getLifecycle();
  const ours = retention.policies.flatMap((policy) => lifecycleRulesFor(policy, prefix));
  const merged = mergeLifecycleRules(current?.rules ?? [], ours, retention.streams);
  if (!merged.changed) return result;
  await lifecycle.putLifecycle({
    rules: merged.rules,
    ...(current?.transitionDefaultMinimumObjectSize
      ? { transitionDefaultMinimumObjectSize: current.transitionDefaultMinimumObjectSize }
      : {}),
  });
  return { ...result, changed: true };
}
