/**
 * Compaction (last record per partition key), as workers over the ObjectStore / ShardReader
 * ports: plan → partitionChunk per chunk → mergePartition per partition → cleanupCompaction.
 * The pure parts are in src/core/compaction-*.ts.
 */
export { cleanupCompaction, type CompactionSummary } from './cleanup';
export { DEFAULT_LIVE_READ, type CompactionDeps, type LiveReadSettings } from './inputs';
export { DEFAULT_MERGE_SETTINGS, mergePartition, type MergeResult, type MergeSettings } from './merge-worker';
export {
  DEFAULT_PARTITION_SETTINGS,
  ENTRY_OVERHEAD,
  partitionChunk,
  type PartitionResult,
  type PartitionSettings,
} from './partition-worker';
export {
  loadCompactionSpec,
  planCompactionRun,
  requireCompactionSpec,
  storeCompactionSpec,
  type CompactionRunRequest,
} from './plan';
