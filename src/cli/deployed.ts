import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { S3ObjectStore } from '../aws/s3-adapter';
import { s3Client } from '../aws/clients';
import type { ObjectStore } from '../core/ports';
import { normalizePrefix } from '../core/layout';
import { CommandFailure, info } from './output';

export interface DeployedRun {
  stateMachine: 'archive' | 'replay';
  stage?: string;
  executionName: string;
  input: object;
  /** The stack's outputs, bucket and prefix when the caller has read them already. */
  archive?: { outputs: Record<string, string>; bucket: string; prefix: string };
  /** A progress line from the run's files in S3, or null when there is nothing new to say. */
  progress: (store: ObjectStore, prefix: string) => Promise<string | null>;
}

/** The stack output holding each state machine's ARN (serverless.yml `outputs`). */
export const STATE_MACHINE_OUTPUTS = {
  archive: 'ArchiveStateMachineArn',
  replay: 'ReplayStateMachineArn',
  compact: 'CompactStateMachineArn',
  queryWindow: 'QueryWindowStateMachineArn',
} as const;

/**
 * The deployed stack's outputs (serverless.yml declares them). `alternative` ends the message of
 * a missing stack: what else the command can do (only commands that have --local suggest it).
 */
export async function stackOutputs(
  stage: string,
  alternative = 'or use --local',
): Promise<Record<string, string>> {
  const cloudformation = new CloudFormationClient({ requestHandler: new NodeHttpHandler() });
  const stackName = `reservoir-${stage}`;
  const output = await cloudformation
    .send(new DescribeStacksCommand({ StackName: stackName }))
    .catch((error: Error) => {
      throw new CommandFailure(
        `cannot read stack ${stackName}: ${error.message} (deploy with \`npx sls deploy --stage ${stage}\`` +
          `${alternative ? `, ${alternative}` : ''})`,
      );
    });
  const outputs = output.Stacks?.[0]?.Outputs ?? [];
  return Object.fromEntries(outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

/** The deployed stack's outputs with its archive bucket and (normalized) key prefix. */
export async function deployedArchive(
  stage: string,
  alternative?: string,
): Promise<{ outputs: Record<string, string>; bucket: string; prefix: string }> {
  const outputs = await stackOutputs(stage, alternative);
  const bucket = outputs.ArchiveBucketName;
  if (!bucket) throw new CommandFailure(`stack reservoir-${stage} has no ArchiveBucketName output`);
  return { outputs, bucket, prefix: normalizePrefix(outputs.ArchivePrefix ?? '') };
}

/** The CLI's Step Functions client (the user's credentials and region). */
export function sfnClient(): SFNClient {
  return new SFNClient({ requestHandler: new NodeHttpHandler() });
}

/** The deployed state machine's ARN from the stack outputs. */
export function stateMachineArn(
  outputs: Record<string, string>,
  stateMachine: keyof typeof STATE_MACHINE_OUTPUTS,
  stage: string,
): string {
  const arnOutput = STATE_MACHINE_OUTPUTS[stateMachine];
  const arn = outputs[arnOutput];
  if (!arn) throw new CommandFailure(`stack reservoir-${stage} has no ${arnOutput} output`);
  return arn;
}

/** Starts an execution of the deployed state machine and follows it to the end, with progress. */
export async function followDeployedExecution(run: DeployedRun): Promise<unknown> {
  const stage = run.stage ?? process.env.RESERVOIR_STAGE ?? 'dev';
  const { outputs, bucket, prefix } = run.archive ?? (await deployedArchive(stage));
  const arn = stateMachineArn(outputs, run.stateMachine, stage);
  const sfn = sfnClient();
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: arn,
      name: run.executionName,
      input: JSON.stringify(run.input),
    }),
  );
  info(`started ${started.executionArn}`);
  const store = new S3ObjectStore(s3Client(), bucket);
  let reported = '';
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    const line = await run.progress(store, prefix).catch(() => null);
    if (line && line !== reported) {
      reported = line;
      info(`  ${line}`);
    }
    if (execution.status === 'SUCCEEDED') return JSON.parse(execution.output ?? 'null');
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      throw new CommandFailure(
        `${run.stateMachine} ${execution.status?.toLowerCase()}: ${execution.error ?? ''}: ${execution.cause ?? ''}`,
      );
    }
  }
}
