import type { RetentionDiscovery } from '../archive/discover';
import { applyRetention } from '../archive/retention';
import { archiveRuntime } from '../archive/runtime';
import { passThrough, taskHandler } from './shared/task-handler';

interface ApplyRetentionEvent {
  runId: string;
  retention: RetentionDiscovery;
}

/**
 * ApplyRetention: the retention tags DiscoverStreams found become lifecycle rules on the archive
 * bucket. The state machine catches any failure and archives anyway; the summary reports it.
 */
export const handler = taskHandler(passThrough<ApplyRetentionEvent>, async (event) => {
  const { lifecycle, config } = archiveRuntime();
  return applyRetention(lifecycle, config.prefix, event.retention);
});
