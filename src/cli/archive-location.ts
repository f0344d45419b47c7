import { archiveRuntime } from '../archive/runtime';
import { kinesisClient, s3Client } from '../aws/clients';
import { KinesisStreamCatalog } from '../aws/kinesis-adapter';
import { S3ObjectStore } from '../aws/s3-adapter';
import type { ObjectStore, StreamCatalog } from '../core/ports';
import { deployedArchive } from './deployed';

/** The archive a command reads and the Kinesis it asks about streams. */
export interface ArchiveLocation {
  store: ObjectStore;
  catalog: StreamCatalog;
  bucket: string;
  prefix: string;
  /** The deployed stack's outputs (absent with --local). */
  outputs?: Record<string, string>;
}

/**
 * `--local`: the bucket and prefix of the environment (RESERVOIR_BUCKET, RESERVOIR_PREFIX) at the
 * SDK's endpoints; otherwise those of the deployed stack reservoir-{stage}.
 */
export async function archiveLocation(options: {
  local?: boolean;
  stage?: string;
  /** What else the command can do when the stack is missing (default: use --local). */
  alternative?: string;
}): Promise<ArchiveLocation> {
  if (options.local) {
    const { store, catalog, config } = archiveRuntime();
    return { store, catalog, bucket: config.bucket, prefix: config.prefix };
  }
  const { outputs, bucket, prefix } = await deployedArchive(options.stage ?? 'dev', options.alternative);
  return {
    store: new S3ObjectStore(s3Client(), bucket),
    catalog: new KinesisStreamCatalog(kinesisClient()),
    bucket,
    prefix,
    outputs,
  };
}
