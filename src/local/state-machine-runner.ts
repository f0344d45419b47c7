import './polyfills';
import './local-env';
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { handlers, type LambdaHandler } from '../handlers/registry';
import { LOCAL_TIMEOUT_FIELD, loadLocalDefinition } from './asl-definition';

export interface TaskEvent {
  state: string;
  functionName: string;
  input: unknown;
  output?: unknown;
  error?: Error;
}

export interface LocalRunOptions {
  executionName: string;
  /** Called after every Task invocation (progress display, tests). */
  onTask?: (event: TaskEvent) => void;
  /** Wraps a function's handler, e.g. to inject a fault before the real handler runs. */
  wrap?: (functionName: string, handler: LambdaHandler) => LambdaHandler;
  /** Milliseconds per Retry pause, by state name (tests shorten the real backoff). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Lambda timeout given to handlers through context.getRemainingTimeInMillis(). */
  functionTimeoutMs?: number;
  /**
   * Replaces Tasks by state name: called with the Task's effective input (after Parameters), its
   * result taken as the Task's. Service integrations (e.g. `elasticmapreduce:createCluster.sync`,
   * `lambda:invoke.waitForTaskToken`) run only on AWS, so a local run must override each of them;
   * a Lambda Task overridden here does not run its handler. A thrown error's `name` is the error
   * the ASL's Retry and Catch see. `$$.Task.Token` is `local-task-token:{executionName}`.
   */
  taskOverrides?: Record<string, (input: unknown) => Promise<unknown>>;
}

/** The task token a local execution gives `$$.Task.Token` (one per execution). */
export function localTaskToken(executionName: string): string {
  return `local-task-token:${executionName}`;
}

/** A Task's input as Step Functions would pass it: without the local timeout field (see LOCAL_TIMEOUT_FIELD). */
function taskEvent(taskInput: unknown): unknown {
  const event = JSON.parse(JSON.stringify(taskInput)) as unknown;
  if (event && typeof event === 'object' && !Array.isArray(event))
    delete (event as Record<string, unknown>)[LOCAL_TIMEOUT_FIELD];
  return event;
}

function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `reservoir-local-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:reservoir-local-${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/reservoir-local-${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const machines = new Map<
  string,
  {
    machine: StateMachine;
    taskFunctions: Map<string, string>;
    taskStateMachines: Map<string, string>;
    taskResources: Map<string, string>;
  }
>();

/** Loads and validates a definition once per process (validation costs a few hundred ms). */
function localMachine(name: string) {
  let loaded = machines.get(name);
  if (!loaded) {
    const { definition, taskFunctions, taskStateMachines, taskResources } = loadLocalDefinition(name);
    const machine = new StateMachine(definition as never, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    loaded = { machine, taskFunctions, taskStateMachines, taskResources };
    machines.set(name, loaded);
  }
  return loaded;
}

/**
 * Runs statemachines/{name}.asl.yml in-process with aws-local-stepfunctions, each Task bound
 * to the same handler the Lambda function runs. Lambda's JSON round trip is kept, so a handler
 * that returns something Step Functions could not carry fails here too.
 */
export async function runLocalStateMachine(
  name: string,
  input: unknown,
  options: LocalRunOptions,
): Promise<unknown> {
  const { machine, taskFunctions, taskStateMachines, taskResources } = localMachine(name);
  const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [state, functionName] of taskFunctions) {
    const bound = handlers[functionName];
    if (!bound) throw new Error(`State ${state} references function ${functionName}, which has no handler`);
    overrides[state] = async (taskInput: unknown) => {
      let handler = bound;
      if (options.wrap) handler = options.wrap(functionName, handler);
      const event = taskEvent(taskInput);
      return reportedCall(options, state, functionName, event, () =>
        handler(event, lambdaContext(functionName, options.functionTimeoutMs ?? 900_000)),
      );
    };
  }
  for (const [state, child] of taskStateMachines) {
    overrides[state] = (taskInput: unknown) => runChildExecution(child, taskInput, options, state);
  }
  for (const [state, override] of Object.entries(options.taskOverrides ?? {})) {
    overrides[state] = async (taskInput: unknown) => {
      const event = taskEvent(taskInput);
      const functionName = taskResources.get(state) ?? taskFunctions.get(state) ?? state;
      return reportedCall(options, state, functionName, event, () => override(event));
    };
  }
  for (const [state, resource] of taskResources) {
    if (!overrides[state])
      throw new Error(
        `State ${state} runs ${resource}, which exists only on AWS: give it a taskOverrides entry`,
      );
  }

  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: overrides as never,
      retryIntervalOverrides: options.retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: `arn:aws:states:us-east-1:000000000000:execution:${name}:${options.executionName}`,
        Name: options.executionName,
        Input: input as never,
        StartTime: new Date().toISOString(),
      },
      Task: { Token: localTaskToken(options.executionName) },
    },
  });
  try {
    return await execution.result;
  } catch (error) {
    // aws-local-stepfunctions wraps the failure; surface it as Step Functions reports it.
    const cause = (error as { cause?: Error }).cause;
    if (cause) throw new ExecutionFailedError(cause.name, cause.message);
    throw error;
  }
}

/**
 * Runs a Task's local stand-in with Lambda's JSON round trip (a result Step Functions could not
 * carry fails here too) and reports the outcome to `onTask`.
 */
async function reportedCall(
  options: LocalRunOptions,
  state: string,
  functionName: string,
  event: unknown,
  call: () => Promise<unknown>,
): Promise<unknown> {
  try {
    const output = await call();
    const result = output === undefined ? null : (JSON.parse(JSON.stringify(output)) as unknown);
    options.onTask?.({ state, functionName, input: event, output: result });
    return result;
  } catch (error) {
    options.onTask?.({ state, functionName, input: event, error: error as Error });
    throw error;
  }
}

/**
 * A `states:startExecution.sync:2` Task run locally: the child state machine runs in-process
 * with the same bindings; its result comes back as Step Functions returns it ({Output, Status…}),
 * and its failure as `States.TaskFailed` with the child's error and cause, as on AWS.
 */
async function runChildExecution(child: string, taskInput: unknown, options: LocalRunOptions, state: string) {
  const params = taskInput as { Input?: unknown; Name?: string };
  const executionName = params.Name ?? `${options.executionName}-${state}`.slice(0, 80);
  const executionArn = `arn:aws:states:us-east-1:000000000000:execution:reservoir-local-${child}:${executionName}`;
  try {
    const output = await runLocalStateMachine(child, params.Input ?? {}, { ...options, executionName });
    options.onTask?.({ state, functionName: `stateMachine:${child}`, input: params.Input, output });
    return { ExecutionArn: executionArn, Status: 'SUCCEEDED', Output: output };
  } catch (error) {
    options.onTask?.({
      state,
      functionName: `stateMachine:${child}`,
      input: params.Input,
      error: error as Error,
    });
    if (!(error instanceof ExecutionFailedError)) throw error;
    const failed = new Error(
      JSON.stringify({
        ExecutionArn: executionArn,
        Status: 'FAILED',
        Error: error.error,
        Cause: error.causeText,
      }),
    );
    failed.name = 'States.TaskFailed';
    throw failed;
  }
}

/** An execution that ended in a Fail state or an uncaught error: `error` and `cause` as in the console. */
export class ExecutionFailedError extends Error {
  constructor(
    readonly error: string,
    readonly causeText: string,
  ) {
    super(`${error}: ${causeText}`);
    this.name = 'ExecutionFailedError';
  }
}
