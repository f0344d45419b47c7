import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { callAws } from '../aws/errors';
import { mapWithConcurrency } from '../core/concurrency';
import { cachePath, cacheStem, type ListedObject } from './plan';

/** What one `ensure` did: which objects were downloaded, which were already cached. */
export interface FetchStats {
  objects: number;
  /** Keys downloaded from S3, in completion order. */
  fetched: string[];
  fetchedBytes: number;
  reused: number;
  reusedBytes: number;
}

export interface ObjectCacheOptions {
  client: S3Client;
  bucket: string;
  /** Root of the cache: objects go to `{dir}/{bucket}/{key}@{etag}`. */
  dir: string;
  /** Downloads in flight at once. */
  concurrency: number;
  /** Called after each download with the objects and bytes done so far. */
  onProgress?: (done: { objects: number; bytes: number }, total: { objects: number; bytes: number }) => void;
}

/**
 * A local copy of archive objects, keyed by object key and ETag: an object is downloaded once and
 * reused by every later query until it changes. Files appear whole (written aside, then renamed),
 * so a query interrupted mid-download leaves nothing half-written in the cache; an older version
 * of a re-downloaded object is removed.
 */
export class ObjectCache {
  constructor(private readonly options: ObjectCacheOptions) {}

  /** Makes every object local; returns their paths (in the order given) and what was fetched. */
  async ensure(objects: readonly ListedObject[]): Promise<{ paths: string[]; stats: FetchStats }> {
    const { bucket, dir } = this.options;
    const stats: FetchStats = {
      objects: objects.length,
      fetched: [],
      fetchedBytes: 0,
      reused: 0,
      reusedBytes: 0,
    };
    const paths = objects.map((object) => cachePath(dir, bucket, object.key, object.etag));
    const missing: number[] = [];
    await mapWithConcurrency(objects, 32, async (object, i) => {
      const size = await fileSize(paths[i]!);
      if (size !== null && size === object.bytes) {
        stats.reused += 1;
        stats.reusedBytes += object.bytes;
      } else missing.push(i);
    });
    missing.sort((a, b) => a - b);
    const total = {
      objects: missing.length,
      bytes: missing.reduce((sum, i) => sum + objects[i]!.bytes, 0),
    };
    const done = { objects: 0, bytes: 0 };
    await mapWithConcurrency(missing, this.options.concurrency, async (i) => {
      const object = objects[i]!;
      await this.download(object, paths[i]!);
      stats.fetched.push(object.key);
      stats.fetchedBytes += object.bytes;
      done.objects += 1;
      done.bytes += object.bytes;
      this.options.onProgress?.(done, total);
    });
    return { paths, stats };
  }

  private async download(object: ListedObject, path: string): Promise<void> {
    const { client, bucket } = this.options;
    await mkdir(dirname(path), { recursive: true });
    const aside = `${path}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const output = await callAws(`GetObject s3://${bucket}/${object.key}`, () =>
        client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key })),
      );
      // Archive objects never change (their keys derive from their content); a different ETag
      // means something else rewrote the key between the listing and now.
      if (output.ETag && output.ETag.replace(/"/g, '') !== object.etag.replace(/"/g, '')) {
        (output.Body as Readable | undefined)?.destroy();
        throw new Error(`s3://${bucket}/${object.key} changed while the query was planned; run it again`);
      }
      await pipeline(output.Body as Readable, createWriteStream(aside));
      const size = (await stat(aside)).size;
      if (size !== object.bytes)
        throw new Error(
          `s3://${bucket}/${object.key}: downloaded ${size} bytes, the listing said ${object.bytes}`,
        );
      await rename(aside, path);
    } catch (error) {
      await unlink(aside).catch(() => undefined);
      throw error;
    }
    await this.removeOtherVersions(object.key, path);
  }

  /** Older ETags of the same key: dead weight once the new version is here. */
  private async removeOtherVersions(key: string, path: string): Promise<void> {
    const stem = cacheStem(key);
    const keep = basename(path);
    const names = await readdir(dirname(path)).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => name.startsWith(stem) && name !== keep && !name.includes('.part-'))
        .map((name) => unlink(join(dirname(path), name)).catch(() => undefined)),
    );
  }
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}
