import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ec2Client, kinesisClient, s3Client } from '../aws/clients';
import { Ec2NetworkCatalog } from '../aws/ec2-network';
import { KinesisShardReader, KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3ObjectStore } from '../aws/s3-adapter';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { processReadBudget, sleep } from '../reading/process-budget';
import type { ShardReadDeps } from '../reading/shard-read';
import { loadQueryWindowConfig, type QueryWindowConfig } from '../config/query-window-config';
import type { NetworkCatalog } from './network';
import { TaskNoLongerWaitingError, type TaskTokenSender } from './window';

/** Config and adapters of the query window handlers, built once per process. */
export interface QueryWindowRuntime {
  config: QueryWindowConfig;
  store: ObjectStore;
  /** How SnapshotLiveShard reads. */
  live: ShardReadDeps;
  catalog: StreamCatalog;
  /** The window's subnet, VPC and security groups (tests replace it: EC2 has no local emulator). */
  network: NetworkCatalog;
  sender: TaskTokenSender;
}

let runtime: QueryWindowRuntime | undefined;

/** SendTaskSuccess; a token that is no longer waiting is TaskNoLongerWaitingError. */
export class SfnTaskTokenSender implements TaskTokenSender {
  constructor(private readonly client: SFNClient) {}

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    try {
      await this.client.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }),
      );
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TaskTimedOut' || name === 'TaskDoesNotExist' || name === 'InvalidToken')
        throw new TaskNoLongerWaitingError(`the window's task is no longer waiting (${name})`);
      throw error;
    }
  }
}

export function queryWindowRuntime(): QueryWindowRuntime {
  if (runtime) return runtime;
  const config = loadQueryWindowConfig();
  runtime = {
    config,
    store: new S3ObjectStore(s3Client(), config.bucket),
    live: {
      reader: new KinesisShardReader(kinesisClient()),
      budget: processReadBudget(),
      now: Date.now,
      sleep,
    },
    catalog: new KinesisStreamCatalog(kinesisClient()),
    network: new Ec2NetworkCatalog(ec2Client()),
    sender: new SfnTaskTokenSender(new SFNClient({ requestHandler: new NodeHttpHandler(), maxAttempts: 5 })),
  };
  return runtime;
}

export function resetQueryWindowRuntime(): void {
  runtime = undefined;
}
