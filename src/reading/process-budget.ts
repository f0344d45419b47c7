import { ReadBudget } from '../core/read-budget';

let budget: ReadBudget | undefined;

/**
 * The read budget of this process: every reader in it (archive, replay, compaction, snapshots,
 * SQL) shares one per shard, so together they stay within each shard's rate.
 */
export function processReadBudget(): ReadBudget {
  budget ??= new ReadBudget({ now: Date.now, sleep });
  return budget;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
