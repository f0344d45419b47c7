import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { BlockBuilder, blockBody, type Block } from '../src/core/block-builder';
import { toUserRecords } from '../src/core/deaggregate';
import { hourStart } from '../src/core/layout';
import type { KinesisRecord } from '../src/core/ports';
import { benchRecord } from './payload';

export interface CodecResult {
  level: number;
  records: number;
  /** Kinesis record payload bytes consumed (what a shard's 2 MB/s read limit counts). */
  payloadBytes: number;
  /** Uncompressed JSON Lines bytes (payload plus the record line's envelope). */
  lineBytes: number;
  compressedBytes: number;
  seconds: number;
  /** Part of `seconds` spent in gzipSync. */
  gzipSeconds: number;
}

export interface CodecOptions {
  maxObjectBytes: number;
  /** Stop after this many payload bytes... */
  targetBytes: number;
  /** ...or after this long, whichever comes first. */
  maxSeconds: number;
}

const POOL_SIZE = 8192;

/**
 * Distinct ~1 KB records, one hour's worth of arrival times, as the SDK hands them to the
 * archiver (each payload its own Uint8Array). 8 MiB between repeats is far beyond gzip's
 * 32 KiB window, so cycling through the pool does not flatter the ratio.
 */
function recordPool(): KinesisRecord[] {
  const base = hourStart(Date.now());
  return Array.from({ length: POOL_SIZE }, (_, i) => {
    const produced = benchRecord(i, base + i * 100);
    return {
      sequenceNumber: String(49_000_000_000_000_000_000n + BigInt(i)),
      partitionKey: produced.partitionKey,
      arrivalTimestamp: base + i * 100,
      data: new Uint8Array(produced.data),
    };
  });
}

/** The archiver's per-block path (ShardRun: toUserRecords → add → blockBody → compress), single-threaded. */
function runLevel(pool: KinesisRecord[], level: number, options: CodecOptions): CodecResult {
  const result: CodecResult = {
    level,
    records: 0,
    payloadBytes: 0,
    lineBytes: 0,
    compressedBytes: 0,
    seconds: 0,
    gzipSeconds: 0,
  };
  const builder = new BlockBuilder(options.maxObjectBytes);
  const compress = (block: Block) => {
    const body = blockBody(block);
    const started = performance.now();
    result.compressedBytes += gzipSync(body, { level }).length;
    result.gzipSeconds += (performance.now() - started) / 1000;
    result.lineBytes += block.bytes;
  };
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  while (
    result.payloadBytes < options.targetBytes &&
    (result.records % 1024 !== 0 || performance.now() < deadline)
  ) {
    const record = pool[result.records % pool.length]!;
    const closed = builder.add(
      record.sequenceNumber,
      record.arrivalTimestamp,
      toUserRecords('bench', 'shardId-000000000000', record),
    );
    if (closed) compress(closed);
    result.records += 1;
    result.payloadBytes += record.data.byteLength;
  }
  const open = builder.flush();
  if (open) compress(open);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export function codecBench(levels: number[], options: CodecOptions): CodecResult[] {
  const pool = recordPool();
  return levels.map((level) => {
    // Warm-up pass (JIT, zlib allocations) with small blocks; its figures are discarded.
    runLevel(pool, level, { maxObjectBytes: 4 << 20, targetBytes: 16 << 20, maxSeconds: 1 });
    return runLevel(pool, level, options);
  });
}
