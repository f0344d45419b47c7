import type { StreamCatalog } from '../core/ports';
import { readPolicyFor, type ReadDefaults, type StreamReadPolicy } from '../core/read-policy';
import type { ReadMode } from './shard-read';

/**
 * How a stream is read, from its tags and the deployment's settings: one ListTagsForStream, made
 * where a workflow plans (the work items carry the result, so no worker asks Kinesis again).
 */
export async function streamReadPolicy(
  catalog: StreamCatalog,
  stream: string,
  defaults: ReadDefaults,
): Promise<{ policy: StreamReadPolicy; problems: string[] }> {
  return readPolicyFor(stream, await catalog.listTags(stream), defaults);
}

/**
 * Polling at the policy's rate. Replays, compactions, snapshots and SQL poll even where the
 * archive reads with enhanced fan-out: their reads are short, and the consumer is the archive's.
 */
export function pollingMode(policy: StreamReadPolicy): Extract<ReadMode, { type: 'polling' }> {
  return { type: 'polling', rate: policy.rate, share: policy.share };
}
