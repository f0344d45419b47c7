import {
  DeleteBucketLifecycleCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type LifecycleRule,
  type S3Client,
  type TransitionDefaultMinimumObjectSize,
} from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../core/concurrency';
import { CheckpointConflictError, ServiceUnavailableError } from '../core/errors';
import type { BucketLifecycle, BucketLifecycleConfiguration, ObjectStore, StoredJson } from '../core/ports';
import type { LifecycleRuleJson } from '../core/retention';
import { callAws } from './errors';

function isStatus(error: unknown, status: number, ...names: string[]): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === status || names.includes(e?.name ?? '');
}

/** The archive bucket as an ObjectStore. */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async getJson<T>(key: string): Promise<StoredJson<T> | null> {
    try {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const text = await output.Body!.transformToString('utf8');
      return { value: JSON.parse(text) as T, etag: output.ETag! };
    } catch (error) {
      if (isStatus(error, 404, 'NoSuchKey', 'NotFound')) return null;
      return callAws(`GetObject s3://${this.bucket}/${key}`, () => Promise.reject(error));
    }
  }

  async putJsonIfMatch(
    key: string,
    value: unknown,
    expectedEtag: string | null,
    tags?: Readonly<Record<string, string>>,
  ): Promise<string> {
    try {
      const output = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: JSON.stringify(value, null, 2),
          ContentType: 'application/json',
          ...(expectedEtag ? { IfMatch: expectedEtag } : { IfNoneMatch: '*' }),
          // The x-amz-tagging header: URL-query encoded key=value pairs.
          ...(tags ? { Tagging: new URLSearchParams(Object.entries(tags)).toString() } : {}),
        }),
      );
      return output.ETag!;
    } catch (error) {
      if (isStatus(error, 412, 'PreconditionFailed')) {
        throw new CheckpointConflictError(
          `s3://${this.bucket}/${key} was changed by another writer (expected ${expectedEtag ?? 'no object'}); ` +
            'another execution is archiving this shard',
          { cause: error },
        );
      }
      return callAws(`PutObject s3://${this.bucket}/${key}`, () => Promise.reject(error));
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.putObject(key, Buffer.from(JSON.stringify(value)), 'application/json');
  }

  async putObject(
    key: string,
    body: Uint8Array,
    contentType: string,
    contentEncoding?: string,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<void> {
    await callAws(`PutObject s3://${this.bucket}/${key}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentEncoding: contentEncoding,
          ...(metadata ? { Metadata: { ...metadata } } : {}),
        }),
      ),
    );
  }

  async getObject(key: string): Promise<Uint8Array | null> {
    try {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await output.Body!.transformToByteArray();
    } catch (error) {
      if (isStatus(error, 404, 'NoSuchKey', 'NotFound')) return null;
      return callAws(`GetObject s3://${this.bucket}/${key}`, () => Promise.reject(error));
    }
  }

  async getMetadata(key: string): Promise<Record<string, string> | null> {
    try {
      const output = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return output.Metadata ?? {};
    } catch (error) {
      if (isStatus(error, 404, 'NoSuchKey', 'NotFound')) return null;
      return callAws(`HeadObject s3://${this.bucket}/${key}`, () => Promise.reject(error));
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isStatus(error, 404, 'NoSuchKey', 'NotFound')) return false;
      return callAws(`HeadObject s3://${this.bucket}/${key}`, () => Promise.reject(error));
    }
  }

  async listKeys(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((object) => object.key);
  }

  async firstKey(prefix: string): Promise<string | null> {
    const output = await callAws(`ListObjectsV2 s3://${this.bucket}/${prefix}`, () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1 })),
    );
    return output.Contents?.[0]?.Key ?? null;
  }

  async listObjects(prefix: string): Promise<{ key: string; bytes: number }[]> {
    const objects: { key: string; bytes: number }[] = [];
    let token: string | undefined;
    do {
      const output = await callAws(`ListObjectsV2 s3://${this.bucket}/${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      for (const object of output.Contents ?? []) {
        if (object.Key) objects.push({ key: object.Key, bytes: object.Size ?? 0 });
      }
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** Deletes keys in DeleteObjects batches of 1,000; a key that is already gone is not an error. */
  async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const output = await callAws(`DeleteObjects s3://${this.bucket}`, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = output.Errors ?? [];
      if (failed.length > 0) {
        throw new ServiceUnavailableError(
          `DeleteObjects s3://${this.bucket}: ${failed.length} key(s) not deleted, e.g. ${failed[0]!.Key}: ${failed[0]!.Code}`,
        );
      }
    }
  }

  /** One PutObjectTagging per key (S3 has no batch form but Batch Operations), 8 at a time. */
  async tagObjects(keys: readonly string[], tags: Readonly<Record<string, string>>): Promise<void> {
    const TagSet = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    await mapWithConcurrency(keys, 8, async (key) => {
      try {
        await this.client.send(
          new PutObjectTaggingCommand({ Bucket: this.bucket, Key: key, Tagging: { TagSet } }),
        );
      } catch (error) {
        if (isStatus(error, 404, 'NoSuchKey', 'NotFound')) return;
        await callAws(`PutObjectTagging s3://${this.bucket}/${key}`, () => Promise.reject(error));
      }
    });
  }
}

/** The archive bucket's lifecycle configuration (ApplyRetention). */
export class S3BucketLifecycle implements BucketLifecycle {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async getLifecycle(): Promise<BucketLifecycleConfiguration | null> {
    try {
      const output = await this.client.send(
        new GetBucketLifecycleConfigurationCommand({ Bucket: this.bucket }),
      );
      return {
        rules: (output.Rules ?? []) as LifecycleRuleJson[],
        ...(output.TransitionDefaultMinimumObjectSize
          ? { transitionDefaultMinimumObjectSize: output.TransitionDefaultMinimumObjectSize }
          : {}),
      };
    } catch (error) {
      // Not the 404 alone: NoSuchBucket is a 404 too, and must not read as "no rules".
      if ((error as { name?: string })?.name === 'NoSuchLifecycleConfiguration') return null;
      return callAws(`GetBucketLifecycleConfiguration s3://${this.bucket}`, () => Promise.reject(error));
    }
  }

  async putLifecycle(configuration: BucketLifecycleConfiguration): Promise<void> {
    if (configuration.rules.length === 0) {
      await callAws(`DeleteBucketLifecycle s3://${this.bucket}`, () =>
        this.client.send(new DeleteBucketLifecycleCommand({ Bucket: this.bucket })),
      );
      return;
    }
    await callAws(`PutBucketLifecycleConfiguration s3://${this.bucket}`, () =>
      this.client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: this.bucket,
          LifecycleConfiguration: { Rules: configuration.rules as LifecycleRule[] },
          TransitionDefaultMinimumObjectSize: configuration.transitionDefaultMinimumObjectSize as
            TransitionDefaultMinimumObjectSize | undefined,
        }),
      ),
    );
  }
}
