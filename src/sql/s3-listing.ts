import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { callAws } from '../aws/errors';
import type { ListedObject } from './plan';

/**
 * ListObjectsV2 with what `reservoir sql` needs and the archive's ObjectStore does not return:
 * ETags (the cache key) and common prefixes (the streams in the bucket).
 */
export class S3Lister {
  /** Every ListObjectsV2 call made, by prefix (tests assert partition pruning with it). */
  readonly listedPrefixes: string[] = [];

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async listObjects(prefix: string): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    let token: string | undefined;
    this.listedPrefixes.push(prefix);
    do {
      const output = await callAws(`ListObjectsV2 s3://${this.bucket}/${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      for (const object of output.Contents ?? []) {
        if (object.Key) objects.push({ key: object.Key, bytes: object.Size ?? 0, etag: object.ETag ?? '' });
      }
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /**
   * The "folders" one level below `prefix` (`{prefix}stream=orders/`, …), by skip-scan: the first
   * key after the previous folder names the next one, one request per folder. (Not Delimiter: the
   * local S3 emulator only reports common prefixes of objects one level deep.)
   */
  async listPrefixes(prefix: string): Promise<string[]> {
    const prefixes: string[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const output = await callAws(`ListObjectsV2 s3://${this.bucket}/${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: 1,
            StartAfter: startAfter,
          }),
        ),
      );
      const key = output.Contents?.[0]?.Key;
      if (!key) return prefixes;
      const slash = key.indexOf('/', prefix.length);
      if (slash === -1) {
        startAfter = key;
        continue;
      }
      const folder = key.slice(0, slash + 1);
      prefixes.push(folder);
      // '0' follows '/' in byte order: every key under the folder sorts before it.
      startAfter = `${folder.slice(0, -1)}0`;
    }
  }
}
