import { S3ServiceException } from '@aws-sdk/client-s3';
import {
  InternalFailureException,
  KMSAccessDeniedException,
  KinesisServiceException,
  ResourceInUseException,
} from '@aws-sdk/client-kinesis';
import { translateAwsError, translateSubscriptionError } from '../../src/aws/errors';
import * as errors from '../../src/core/errors';
import {
  AwsRequestRejectedError,
  ExpiredIteratorError,
  ServiceUnavailableError,
  StreamNotFoundError,
  SubscriptionInUseError,
  ThrottledError,
} from '../../src/core/errors';

function s3Error(name: string, status: number) {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} message`,
  });
}

function kinesisError(name: string, status: number) {
  return new KinesisServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} message`,
  });
}

function networkError(code: string) {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe('translateAwsError: what is transient', () => {
  it.each([
    ['S3 503 SlowDown', s3Error('SlowDown', 503), ThrottledError],
    [
      'Kinesis ProvisionedThroughputExceeded',
      kinesisError('ProvisionedThroughputExceededException', 400),
      ThrottledError,
    ],
    ['Kinesis LimitExceeded', kinesisError('LimitExceededException', 400), ThrottledError],
    ['a 429', s3Error('TooManyRequests', 429), ThrottledError],
    ['S3 500 InternalError', s3Error('InternalError', 500), ServiceUnavailableError],
    ['S3 503 ServiceUnavailable', s3Error('ServiceUnavailable', 503), ServiceUnavailableError],
    ['a 502 with an unknown code', s3Error('BadGateway', 502), ServiceUnavailableError],
    [
      'S3 409 ConditionalRequestConflict',
      s3Error('ConditionalRequestConflict', 409),
      ServiceUnavailableError,
    ],
    ['a connection reset', networkError('ECONNRESET'), ServiceUnavailableError],
    ['a refused connection', networkError('ECONNREFUSED'), ServiceUnavailableError],
    [
      'an SDK timeout',
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      ServiceUnavailableError,
    ],
    ['an expired iterator', kinesisError('ExpiredIteratorException', 400), ExpiredIteratorError],
    ['a missing stream', kinesisError('ResourceNotFoundException', 400), StreamNotFoundError],
  ])('given %s, then it becomes the retried class the ASL names', (_, raw, expected) => {
    const translated = translateAwsError(raw, 'Op') as errors.ReservoirError;
    expect(translated).toBeInstanceOf(expected);
    expect(translated.transient).toBe(expected !== StreamNotFoundError);
  });

  it.each([
    ['501 NotImplemented (an S3 without lifecycle support)', s3Error('NotImplemented', 501)],
    ['a 501 with another code', s3Error('UnknownError', 501)],
    ['403 AccessDenied', s3Error('AccessDenied', 403)],
    ['a Kinesis ValidationException', kinesisError('ValidationException', 400)],
    ['a Kinesis InvalidArgumentException', kinesisError('InvalidArgumentException', 400)],
    ['a KMS access denial', kinesisError('KMSAccessDeniedException', 400)],
  ])('given %s, then it is an AwsRequestRejectedError that nothing retries, naming the call', (_, raw) => {
    const translated = translateAwsError(
      raw,
      'PutBucketLifecycleConfiguration s3://b',
    ) as AwsRequestRejectedError;
    expect(translated).toBeInstanceOf(AwsRequestRejectedError);
    expect(translated.name).toBe('AwsRequestRejectedError');
    expect(translated.transient).toBe(false);
    expect(translated.awsErrorCode).toBe(raw.name);
    expect(translated.message).toContain('PutBucketLifecycleConfiguration s3://b');
    expect(translated.message).toContain(raw.name);
    expect(translated.message).toContain(`HTTP ${raw.$metadata.httpStatusCode}`);
  });

  it('given something that is not a service answer (a bug), then it passes through unchanged', () => {
    const bug = new TypeError('x is undefined');
    expect(translateAwsError(bug, 'Op')).toBe(bug);
  });
});

/**
 * An exception that arrives as a message of SubscribeToShard's event stream: the SDK builds the
 * modeled class with its $fault, and no HTTP status (the response was a 200 long before).
 */
function streamException<T extends Error>(
  ErrorClass: new (options: never) => T,
  fault: 'client' | 'server',
): T {
  return Object.assign(new ErrorClass({} as never), { $fault: fault, message: 'from the event stream' });
}

describe('translateSubscriptionError: SubscribeToShard, refused or failing mid-stream', () => {
  it.each([
    ['refused with ResourceInUseException (HTTP 400)', kinesisError('ResourceInUseException', 400)],
    ['taken over: ResourceInUseException in the stream', streamException(ResourceInUseException, 'client')],
  ])('given %s, then SubscriptionInUseError, retried', (_, raw) => {
    const translated = translateSubscriptionError(
      raw,
      'SubscribeToShard arn shardId-0',
    ) as SubscriptionInUseError;
    expect(translated).toBeInstanceOf(SubscriptionInUseError);
    expect(translated.transient).toBe(true);
    expect(translated.message).toContain('SubscribeToShard arn shardId-0: ResourceInUseException');
  });

  it.each([
    [
      'LimitExceededException (more than one call per second)',
      kinesisError('LimitExceededException', 400),
      ThrottledError,
    ],
    ['an unknown consumer', kinesisError('ResourceNotFoundException', 400), StreamNotFoundError],
    [
      'InternalFailureException in the stream',
      streamException(InternalFailureException, 'server'),
      ServiceUnavailableError,
    ],
    [
      'an unmodeled error message in the stream',
      Object.assign(new Error('boom'), { name: 'InternalFailure' }),
      ServiceUnavailableError,
    ],
    [
      'KMSAccessDeniedException in the stream',
      streamException(KMSAccessDeniedException, 'client'),
      AwsRequestRejectedError,
    ],
  ])('given %s, then it is translated as any other Kinesis answer', (_, raw, expected) => {
    expect(translateSubscriptionError(raw, 'SubscribeToShard arn shardId-0')).toBeInstanceOf(expected);
  });

  it('given ResourceInUseException from another operation, then translateAwsError leaves it a rejection', () => {
    expect(translateAwsError(kinesisError('ResourceInUseException', 400), 'CreateStream s')).toBeInstanceOf(
      AwsRequestRejectedError,
    );
  });
});

describe('error classes', () => {
  const classes = Object.entries(errors).filter(
    ([, value]) => typeof value === 'function' && value.prototype instanceof errors.ReservoirError,
  );

  it('given every error class, then its name is its class name, set as a literal that survives bundling', () => {
    expect(classes.length).toBeGreaterThan(10);
    for (const [exportName, ErrorClass] of classes) {
      // What esbuild does to a class whose name another bundled module also declares.
      Object.defineProperty(ErrorClass, 'name', { value: `${exportName}2` });
      const args = ['message', 'x', 'y', 'z', null];
      const instance = Reflect.construct(ErrorClass as new (...a: unknown[]) => Error, args);
      expect(instance.name).toBe(exportName);
    }
  });
});
