import {
  DescribeExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';

/**
 * Executions of one replay on AWS. The first is named by the replay id; a closed execution's name
 * cannot be used again (Step Functions keeps names for 90 days), so a later run of the same id —
 * a resume after a failure or a stop — is `{replayId}-r2`, `-r3`, …
 */
export function replayExecutionName(replayId: string, run: number): string {
  return run <= 1 ? replayId : `${replayId}-r${run}`;
}

/** arn:…:stateMachine:NAME → arn:…:execution:NAME:EXECUTION (how Step Functions forms them). */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

export interface ReplayExecution {
  run: number;
  name: string;
  executionArn: string;
  status: string;
  startDate: Date | null;
  stopDate: Date | null;
  output: string | null;
  error: string | null;
  cause: string | null;
}

/** The newest execution of a replay (null: the id never ran on this state machine). */
export async function latestReplayExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  replayId: string,
): Promise<ReplayExecution | null> {
  let latest: ReplayExecution | null = null;
  for (let run = 1; ; run++) {
    const name = replayExecutionName(replayId, run);
    const executionArn = executionArnFor(stateMachineArn, name);
    let described: DescribeExecutionCommandOutput;
    try {
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return latest;
      throw error;
    }
    latest = {
      run,
      name,
      executionArn,
      status: described.status ?? 'UNKNOWN',
      startDate: described.startDate ?? null,
      stopDate: described.stopDate ?? null,
      output: described.output ?? null,
      error: described.error ?? null,
      cause: described.cause ?? null,
    };
  }
}

/** Stops a running execution; the error and cause show in the console and in DescribeExecution. */
export async function stopExecution(sfn: SFNClient, executionArn: string, cause: string): Promise<void> {
  await sfn.send(new StopExecutionCommand({ executionArn, error: 'ReplayStoppedError', cause }));
}

/** DescribeExecution's status of one execution. */
export async function executionStatus(sfn: SFNClient, executionArn: string): Promise<string> {
  return (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status ?? 'UNKNOWN';
}
