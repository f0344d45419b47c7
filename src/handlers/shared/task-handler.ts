import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context } from 'aws-lambda';
import { telemetry, type Telemetry } from '../../telemetry/powertools';

export type LogKeys = Record<string, string | number | undefined>;

export interface TaskHandlerOptions<TEvent> {
  /** Log keys beyond the identifiers found in every input (see workKeys). */
  logKeys?: (event: TEvent) => LogKeys;
}

/**
 * A Step Functions Task handler: Powertools (structured logs with the Lambda context, EMF
 * metrics flushed after every invocation, X-Ray), then input validation, then the handler. A
 * thrown error's `name` becomes the Lambda error type that the ASL's Retry/Catch match.
 *
 * Every Task passes `executionArn` ($$.Execution.Id): it becomes a log key and is removed
 * before validation, so the input schemas stay about the work itself.
 */
export function taskHandler<TEvent, TResult>(
  validate: (event: unknown) => TEvent,
  handler: (event: TEvent, context: Context, tools: Telemetry) => Promise<TResult>,
  options: TaskHandlerOptions<TEvent> = {},
) {
  // Built on first call, so the Powertools settings are read from the environment then
  // (the local runner sets quieter defaults before any handler runs).
  let built: { tools: Telemetry; run: middy.MiddyfiedHandler<unknown, TResult> } | undefined;

  const build = (tools: Telemetry) =>
    middy<unknown, TResult>({ timeoutEarlyInMillis: 0 })
      .use(injectLambdaContext(tools.logger, { resetKeys: true }))
      .use(captureLambdaHandler(tools.tracer, { captureResponse: false }))
      .use(flushMetrics(tools.metrics))
      .use({
        before: (request) => {
          const executionArn = takeExecutionArn(request.event);
          request.event = validate(request.event);
          tools.logger.appendKeys({
            executionArn,
            ...workKeys(request.event),
            ...(options.logKeys ? definedKeys(options.logKeys(request.event as TEvent)) : {}),
          });
        },
        onError: (request) => {
          const error = request.error as Error;
          tools.logger.error('Task failed', { errorType: error.name, error });
        },
      })
      .handler((event, context) => handler(event as TEvent, context, tools));

  return (event: unknown, context: Context): Promise<TResult> => {
    const tools = telemetry();
    if (built?.tools !== tools) built = { tools, run: build(tools) };
    return built.run(event, context);
  };
}

/**
 * Powertools' logMetrics, except that a task which recorded nothing (most control tasks)
 * publishes nothing instead of warning on every invocation. Also runs on error, so a
 * DataGaps count recorded before the DataGapError is thrown reaches CloudWatch.
 */
function flushMetrics(metrics: Telemetry['metrics']): middy.MiddlewareObj {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/** For internal task inputs built by the state machine itself. */
export function passThrough<T>(event: unknown): T {
  return event as T;
}

function takeExecutionArn(event: unknown): string | undefined {
  const record = asRecord(event);
  const arn = record?.executionArn;
  if (typeof arn !== 'string') return undefined;
  delete record!.executionArn;
  return arn;
}

const WORK_KEYS = ['runId', 'replayId', 'windowId', 'stream', 'shardId'] as const;

/**
 * The identifiers every log line should carry, wherever the task input holds them: at the top
 * or in its `item` / `shard` (ArchiveShard, SnapshotLiveShard).
 */
function workKeys(event: unknown): LogKeys {
  const keys: LogKeys = {};
  const top = asRecord(event);
  for (const source of [top, asRecord(top?.item), asRecord(top?.shard)]) {
    for (const name of WORK_KEYS) {
      const value = source?.[name];
      if (typeof value === 'string' && keys[name] === undefined) keys[name] = value;
    }
  }
  return keys;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function definedKeys(keys: LogKeys): Record<string, string | number> {
  return Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined)) as Record<
    string,
    string | number
  >;
}
