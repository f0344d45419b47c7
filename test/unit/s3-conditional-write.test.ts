import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3ObjectStore } from '../../src/aws/s3-adapter';
import { CheckpointConflictError, ServiceUnavailableError } from '../../src/core/errors';

// s3rver ignores If-Match / If-None-Match, so the 412 of a lost race is tested against a double.
const s3 = mockClient(S3Client);

function s3Error(name: string, status: number) {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe('checkpoint conditional writes', () => {
  beforeEach(() => s3.reset());
  const store = new S3ObjectStore(new S3Client({ region: 'us-east-1' }), 'bucket');

  it('given no checkpoint yet, then the write requires that none exists (If-None-Match: *)', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"1"' });
    await expect(store.putJsonIfMatch('checkpoints/x.json', { a: 1 }, null)).resolves.toBe('"1"');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ IfNoneMatch: '*' });
  });

  it('given a known checkpoint, then the write requires its ETag (If-Match)', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"2"' });
    await store.putJsonIfMatch('checkpoints/x.json', { a: 1 }, '"1"');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ IfMatch: '"1"' });
  });

  it('given another execution moved the checkpoint, when S3 answers 412, then CheckpointConflictError', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const error = await store.putJsonIfMatch('checkpoints/x.json', {}, '"1"').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointConflictError);
    expect((error as Error).name).toBe('CheckpointConflictError');
  });

  it('given S3 answers 503 or 409 (concurrent conditional request), then the error is a retryable ServiceUnavailableError', async () => {
    s3.on(PutObjectCommand)
      .rejectsOnce(s3Error('ServiceUnavailable', 503))
      .rejectsOnce(s3Error('ConditionalRequestConflict', 409));
    await expect(store.putJsonIfMatch('k', {}, '"1"')).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(store.putJsonIfMatch('k', {}, '"1"')).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});
