import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3BucketLifecycle, S3ObjectStore } from '../../src/aws/s3-adapter';
import { DRAINED_CHECKPOINT_TAGS } from '../../src/core/checkpoint';
import { ServiceUnavailableError } from '../../src/core/errors';
import { lifecycleRulesFor } from '../../src/core/retention';

const s3 = mockClient(S3Client);

function s3Error(name: string, status: number) {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

const rules = lifecycleRulesFor({ stream: 'orders', expireDays: 30, streamRetentionHours: 24 }, '');

describe('the bucket lifecycle adapter', () => {
  beforeEach(() => s3.reset());
  const client = new S3Client({ region: 'us-east-1' });
  const lifecycle = new S3BucketLifecycle(client, 'bucket');

  it('given a bucket without a lifecycle configuration, when S3 answers NoSuchLifecycleConfiguration, then there is none', async () => {
    s3.on(GetBucketLifecycleConfigurationCommand).rejects(s3Error('NoSuchLifecycleConfiguration', 404));

    await expect(lifecycle.getLifecycle()).resolves.toBeNull();
    expect(s3.commandCalls(GetBucketLifecycleConfigurationCommand)[0]!.args[0].input).toEqual({
      Bucket: 'bucket',
    });
  });

  it('given the bucket does not exist, when S3 answers NoSuchBucket (also a 404), then it is an error, not "no rules"', async () => {
    s3.on(GetBucketLifecycleConfigurationCommand).rejects(s3Error('NoSuchBucket', 404));

    await expect(lifecycle.getLifecycle()).rejects.toMatchObject({
      name: 'AwsRequestRejectedError',
      awsErrorCode: 'NoSuchBucket',
    });
  });

  it('given S3 answers 503, then a retryable ServiceUnavailableError', async () => {
    s3.on(GetBucketLifecycleConfigurationCommand).rejects(s3Error('ServiceUnavailable', 503));

    await expect(lifecycle.getLifecycle()).rejects.toBeInstanceOf(ServiceUnavailableError);
  });

  it('given a configuration, then its rules and its minimum object size for transitions are read', async () => {
    s3.on(GetBucketLifecycleConfigurationCommand).resolves({
      Rules: rules as never,
      TransitionDefaultMinimumObjectSize: 'varies_by_storage_class',
    });

    await expect(lifecycle.getLifecycle()).resolves.toEqual({
      rules,
      transitionDefaultMinimumObjectSize: 'varies_by_storage_class',
    });
  });

  it('given rules, then they are put with the minimum object size the bucket had', async () => {
    s3.on(PutBucketLifecycleConfigurationCommand).resolves({});

    await lifecycle.putLifecycle({ rules, transitionDefaultMinimumObjectSize: 'varies_by_storage_class' });

    expect(s3.commandCalls(PutBucketLifecycleConfigurationCommand)[0]!.args[0].input).toEqual({
      Bucket: 'bucket',
      LifecycleConfiguration: { Rules: rules },
      TransitionDefaultMinimumObjectSize: 'varies_by_storage_class',
    });
  });

  it('given no rule at all, then the configuration is deleted (S3 keeps no empty one)', async () => {
    s3.on(DeleteBucketLifecycleCommand).resolves({});

    await lifecycle.putLifecycle({ rules: [] });

    expect(s3.commandCalls(DeleteBucketLifecycleCommand)).toHaveLength(1);
    expect(s3.commandCalls(PutBucketLifecycleConfigurationCommand)).toHaveLength(0);
  });

  it('given a drained checkpoint, then its conditional write carries the tags as the x-amz-tagging query string', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"2"' });
    const store = new S3ObjectStore(client, 'bucket');

    await store.putJsonIfMatch('checkpoints/x.json', {}, '"1"', DRAINED_CHECKPOINT_TAGS);
    await store.putJsonIfMatch('checkpoints/y.json', {}, null);

    const [drained, open] = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(drained).toMatchObject({ IfMatch: '"1"', Tagging: 'reservoir-drained=true' });
    expect(open!.Tagging).toBeUndefined();
  });
});
