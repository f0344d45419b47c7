import {
  AwsRequestRejectedError,
  ExpiredIteratorError,
  ServiceUnavailableError,
  StreamNotFoundError,
  SubscriptionInUseError,
  ThrottledError,
} from '../core/errors';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'KMSThrottlingException',
]);
const UNAVAILABLE = new Set([
  'InternalFailure',
  // What a SubscribeToShard event stream ends with when the service fails mid-stream.
  'InternalFailureException',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInternalException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ConditionalRequestConflict',
]);
/** The endpoint does not implement the operation: 501, which is a 5xx that retrying never fixes. */
const NOT_IMPLEMENTED = new Set(['NotImplemented', 'NotImplementedException']);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/**
 * Translates an SDK failure into the error classes the state machines route on. Transient
 * (retried): throttling, 5xx other than 501, timeouts, connection resets, and S3's 409 on
 * concurrent conditional requests. A service's other answers (AccessDenied, NotImplemented,
 * validation errors...) become AwsRequestRejectedError, which nothing retries. Anything that is
 * not a service answer (a bug, a parse failure) passes through unchanged.
 */
export function translateAwsError(error: unknown, what: string): unknown {
  const e = error as SdkError;
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  const detail = `${what}: ${name}${e?.message && e.message !== name ? ` ${e.message}` : ''}`;
  if (THROTTLING.has(name) || status === 429) return new ThrottledError(detail, { cause: error });
  if (name === 'ExpiredIteratorException') return new ExpiredIteratorError(detail, { cause: error });
  if (name === 'ResourceNotFoundException') return new StreamNotFoundError(detail, { cause: error });
  const notImplemented = NOT_IMPLEMENTED.has(name) || status === 501;
  if (
    !notImplemented &&
    (UNAVAILABLE.has(name) ||
      (status ?? 0) >= 500 ||
      NETWORK.has(e?.code ?? '') ||
      // HTTP/2 stream and session failures (SubscribeToShard's event stream): the connection, not the request.
      (e?.code ?? '').startsWith('ERR_HTTP2_') ||
      status === 409)
  ) {
    return new ServiceUnavailableError(detail, { cause: error });
  }
  if (notImplemented || isServiceAnswer(e)) {
    return new AwsRequestRejectedError(
      `${detail} (HTTP ${status ?? '?'}; not retried: ${
        notImplemented
          ? 'the endpoint does not implement this operation'
          : 'retrying cannot change this answer'
      })`,
      name,
      status,
      { cause: error },
    );
  }
  return error;
}

/**
 * An error the service itself answered with: the SDK sets $fault and the HTTP status on those, and
 * $fault alone on an exception that arrived as a message of an event stream (SubscribeToShard).
 */
function isServiceAnswer(e: SdkError): boolean {
  return e?.$fault !== undefined;
}

/**
 * SubscribeToShard's failures, whether refused at once or raised later inside the event stream:
 * ResourceInUseException means a subscription of this consumer to this shard is still open (or
 * took this one over), SubscriptionInUseError; everything else as translateAwsError says.
 */
export function translateSubscriptionError(error: unknown, what: string): unknown {
  const e = error as SdkError;
  if (e?.name === 'ResourceInUseException') {
    return new SubscriptionInUseError(`${what}: ResourceInUseException ${e.message ?? ''}`.trim(), {
      cause: error,
    });
  }
  return translateAwsError(error, what);
}

export async function callAws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateAwsError(error, what);
  }
}
