/**
 * Positions in a kinesalite shard, for the local enhanced fan-out endpoint: where an iterator
 * points, and the sequence number just before a position (what a ContinuationSequenceNumber is
 * when no record was pushed yet, so that AFTER_SEQUENCE_NUMBER of it reads the next record).
 *
 * kinesalite's sequence numbers (version 2) order by a per-stream counter before their time, and
 * its AFTER_SEQUENCE_NUMBER keeps the counter and adds one second to the time; "before" takes
 * that second off again. Its iterators are AES-encrypted with a key it exports.
 */
import { createDecipheriv } from 'node:crypto';

interface KinesaliteSequence {
  shardCreateTime: number;
  seqIx?: string;
  seqTime?: number;
  shardIx: number;
  version?: number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const db = require('kinesalite/db') as {
  parseSequence(seq: string): KinesaliteSequence;
  stringifySequence(seq: KinesaliteSequence): string;
  ITERATOR_PWD_KEY: Buffer;
  ITERATOR_PWD_IV: Buffer;
};

/** The sequence number a kinesalite shard iterator reads from next (at or after it). */
export function iteratorPosition(iterator: string): string {
  const buffer = Buffer.from(iterator, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', db.ITERATOR_PWD_KEY, db.ITERATOR_PWD_IV);
  const text = Buffer.concat([decipher.update(buffer.subarray(8)), decipher.final()]).toString('utf8');
  // time/stream/shard/sequence/padding
  const sequence = text.split('/')[3];
  if (!sequence) throw new Error('not a kinesalite shard iterator');
  return sequence;
}

/**
 * A sequence number S such that kinesalite's AFTER_SEQUENCE_NUMBER S reads from `position` on:
 * for a record's sequence number, the record is read again; nothing before it is.
 */
export function sequenceBefore(position: string): string {
  const parsed = db.parseSequence(position);
  if (parsed.version !== 2) throw new Error(`unsupported kinesalite sequence number ${position}`);
  return db.stringifySequence({
    shardCreateTime: parsed.shardCreateTime,
    seqIx: parsed.seqIx,
    seqTime: (parsed.seqTime ?? parsed.shardCreateTime) - 1000,
    shardIx: parsed.shardIx,
  });
}
