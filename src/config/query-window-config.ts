import { loadBaseConfig, loadInvocationBudget, type BaseConfig, type InvocationBudget } from './base-config';
import { envInt, envString } from './env';
import { loadReadConfig, type ReadConfig } from './read-config';

/** Everything the query window handlers read from the environment, read once per process. */
export interface QueryWindowConfig extends BaseConfig, InvocationBudget, ReadConfig {
  region: string;
  /** Tag value of the window's clusters (the deployment stage): the state machine's IAM grant is scoped to it. */
  stage: string;
  /** Name of the EMR service role (serverless.yml QueryWindowEmrServiceRole). */
  emrServiceRole: string;
  /** Name of the EC2 instance profile of the cluster's nodes (QueryWindowEmrInstanceProfile). */
  emrInstanceProfile: string;
  /** Default Drill version (deployment parameter drillVersion). */
  drillVersion: string;
  /** Default window duration (deployment parameter queryWindowMinutes). */
  defaultMinutes: number;
  /** At most this many shards are snapshotted (the shard list travels in the execution's state). */
  maxSnapshotShards: number;
  /** Records per snapshot object. */
  snapshotPartRecords: number;
}

export function loadQueryWindowConfig(): QueryWindowConfig {
  return {
    ...loadBaseConfig(),
    ...loadInvocationBudget(),
    ...loadReadConfig(),
    region: envString('AWS_REGION', 'us-east-1'),
    stage: envString('RESERVOIR_STAGE', 'local'),
    emrServiceRole: envString('RESERVOIR_EMR_SERVICE_ROLE', 'reservoir-query-window-emr-service'),
    emrInstanceProfile: envString('RESERVOIR_EMR_INSTANCE_PROFILE', 'reservoir-query-window-emr-instance'),
    drillVersion: envString('RESERVOIR_DRILL_VERSION', '1.21.2'),
    defaultMinutes: envInt('RESERVOIR_QUERY_WINDOW_MINUTES', 240, 15),
    maxSnapshotShards: envInt('RESERVOIR_QUERY_WINDOW_MAX_SHARDS', 500, 1),
    snapshotPartRecords: envInt('RESERVOIR_QUERY_WINDOW_PART_RECORDS', 50_000, 1),
  };
}
