import middy from '@middy/core';
import type { Context } from 'aws-lambda';

/**
 * A Step Functions Task handler: middy with input validation first, the handler last. A thrown
 * error's `name` becomes the Lambda error type that the ASL's Retry/Catch match.
 */
export function taskHandler<TEvent, TResult>(
  validate: (event: unknown) => TEvent,
  handler: (event: TEvent, context: Context) => Promise<TResult>,
) {
  return middy<unknown, TResult>({ timeoutEarlyInMillis: 0 })
    .use({
      before: (request) => {
        request.event = validate(request.event);
      },
      onError: (request) => {
        const error = request.error as Error;
        console.error(JSON.stringify({ level: 'ERROR', errorType: error.name, message: error.message }));
      },
    })
    .handler((event, context) => handler(event as TEvent, context));
}

/** For internal task inputs built by the state machine itself. */
export function passThrough<T>(event: unknown): T {
  return event as T;
}
