import {
  ExpiredIteratorError,
  ServiceUnavailableError,
  StreamNotFoundError,
  ThrottledError,
} from '../core/errors';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'SlowDown',
  'KMSThrottlingException',
]);
const UNAVAILABLE = new Set([
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInternalException',
  'TimeoutError',
  'RequestTimeout',
  'ConditionalRequestConflict',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Translates an SDK failure into the error classes the state machines route on. */
export function translateAwsError(error: unknown, what: string): unknown {
  const e = error as SdkError;
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode ?? 0;
  const detail = `${what}: ${name}${e?.message ? ` ${e.message}` : ''}`;
  if (THROTTLING.has(name)) return new ThrottledError(detail, { cause: error });
  if (name === 'ExpiredIteratorException') return new ExpiredIteratorError(detail, { cause: error });
  if (name === 'ResourceNotFoundException') return new StreamNotFoundError(detail, { cause: error });
  if (UNAVAILABLE.has(name) || status >= 500 || NETWORK.has(e?.code ?? '') || status === 409) {
    return new ServiceUnavailableError(detail, { cause: error });
  }
  return error;
}

export async function callAws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateAwsError(error, what);
  }
}
