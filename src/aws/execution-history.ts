import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';

export interface RecentExecution {
  stateMachine: string;
  name: string;
  executionArn: string;
  status: string;
  startDate: string | null;
  stopDate: string | null;
}

/** The newest executions of each state machine (ListExecutions returns newest first). */
export async function recentExecutions(
  sfn: SFNClient,
  stateMachines: Record<string, string>,
  perMachine: number,
): Promise<RecentExecution[]> {
  const lists = await Promise.all(
    Object.entries(stateMachines).map(async ([stateMachine, arn]) => {
      const listed = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: arn, maxResults: perMachine }),
      );
      return (listed.executions ?? []).map((execution) => ({
        stateMachine,
        name: execution.name ?? '',
        executionArn: execution.executionArn ?? '',
        status: execution.status ?? 'UNKNOWN',
        startDate: execution.startDate?.toISOString() ?? null,
        stopDate: execution.stopDate?.toISOString() ?? null,
      }));
    }),
  );
  return lists.flat();
}

/**
 * The replay id of a replay execution: the CLI names executions by it and it may be in the
 * input; otherwise (e.g. `sls invoke stepf`) ValidateReplay generated it, and its output says.
 */
export async function replayIdOf(sfn: SFNClient, executionArn: string): Promise<string | null> {
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const input = JSON.parse(described.input ?? '{}') as { replayId?: unknown };
  if (typeof input.replayId === 'string') return input.replayId;
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 50 }));
  for (const event of history.events ?? []) {
    const exited = event.stateExitedEventDetails;
    if (exited?.name !== 'ValidateReplay' || !exited.output) continue;
    const output = JSON.parse(exited.output) as { replay?: { replayId?: unknown } };
    if (typeof output.replay?.replayId === 'string') return output.replay.replayId;
  }
  return null;
}
