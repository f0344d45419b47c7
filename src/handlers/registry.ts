import type { Context } from 'aws-lambda';
import { handler as applyRetention } from './apply-retention';
import { handler as archiveShard } from './archive-shard';
import { handler as discoverStreams } from './discover-streams';
import { handler as loadShardPage } from './load-shard-page';
import { handler as planShards } from './plan-shards';
import { handler as recordShardResult } from './record-shard-result';
import { handler as summarizeArchive } from './summarize-archive';
import { handler as planColumnar } from './plan-columnar';
import { handler as loadColumnarHours } from './load-columnar-hours';
import { handler as convertHour } from './convert-hour';
import { handler as recordConversionFailure } from './record-conversion-failure';
import { handler as loadReplayPage } from './load-replay-page';
import { handler as planReplay } from './plan-replay';
import { handler as recordReplayFailure } from './record-replay-failure';
import { handler as replayItem } from './replay-item';
import { handler as summarizeReplay } from './summarize-replay';
import { handler as validateReplay } from './validate-replay';
import { handler as commitSnapshot } from './commit-snapshot';
import { handler as compactMerge } from './compact-merge';
import { handler as compactPartition } from './compact-partition';
import { handler as finishCompaction } from './finish-compaction';
import { handler as planCompaction } from './plan-compaction';
import { handler as prepareQueryWindow } from './query-window-prepare';
import { handler as snapshotLiveShard } from './query-window-snapshot';
import { handler as storeQueryWindowToken } from './query-window-store-token';
import { handler as cleanupQueryWindow } from './query-window-cleanup';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The Lambda functions of serverless.yml by name, as the ASL files reference them
 * (`Fn::GetAtt: [name, Arn]`). The local runner binds each Task to these same handlers.
 */
export const handlers: Record<string, LambdaHandler> = {
  discoverStreams,
  applyRetention,
  planShards,
  loadShardPage,
  archiveShard,
  recordShardResult,
  planColumnar,
  loadColumnarHours,
  convertHour,
  recordConversionFailure,
  summarizeArchive,
  validateReplay,
  planReplay,
  loadReplayPage,
  replayItem,
  recordReplayFailure,
  summarizeReplay,
  planCompaction,
  compactPartition,
  compactMerge,
  finishCompaction,
  commitSnapshot,
  prepareQueryWindow,
  snapshotLiveShard,
  storeQueryWindowToken,
  cleanupQueryWindow,
} as Record<string, LambdaHandler>;
