import type { Checkpoint } from './checkpoint';
import { normalizePrefix } from './layout';

/**
 * A stream deleted and created again under the same name is a new stream: new shards, new
 * sequence numbers, the same ARN. Its creation time tells the two apart. Checkpoints record it;
 * one that records another, or that was last written before this stream was created (written
 * before checkpoints recorded it), belongs to an earlier stream of the name: an earlier epoch.
 */
export function isFromEarlierEpoch(checkpoint: Checkpoint, streamCreatedAt: number): boolean {
  if (typeof checkpoint.streamCreatedAt === 'number') return checkpoint.streamCreatedAt !== streamCreatedAt;
  return Date.parse(checkpoint.updatedAt) < streamCreatedAt;
}

/**
 * Where an earlier epoch's checkpoints are kept aside: outside checkpoints/, so no run or reader
 * takes them for current ones. Named by that stream's creation time when the checkpoints knew it.
 */
export function retiredEpochPrefix(prefix: string, stream: string, epoch: string): string {
  return `${retiredStreamPrefix(prefix, stream)}epoch=${epoch}/`;
}

/** Every earlier epoch's checkpoints of a stream. */
export function retiredStreamPrefix(prefix: string, stream: string): string {
  return `${normalizePrefix(prefix)}checkpoints-retired/stream=${stream}/`;
}

/** The epoch name of an earlier stream's checkpoint: its creation time, or the one it predates. */
export function epochOf(checkpoint: Checkpoint, streamCreatedAt: number): string {
  return typeof checkpoint.streamCreatedAt === 'number'
    ? new Date(checkpoint.streamCreatedAt).toISOString()
    : `before-${new Date(streamCreatedAt).toISOString()}`;
}

/** What an archive run did when it found a stream recreated. */
export interface RecreatedStream {
  stream: string;
  /** When the current stream was created. */
  createdAt: string;
  /** Checkpoints of the earlier stream, moved under retiredPrefix. */
  retiredCheckpoints: number;
  retiredPrefix: string;
}
