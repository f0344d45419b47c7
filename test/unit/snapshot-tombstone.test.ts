import { snapshotTombstone } from '../../src/core/snapshot';

const pattern = { data: { op: ['delete'] } };

describe('the tombstone pattern a LATEST snapshot run applies', () => {
  it('given neither a configured nor a stored pattern, then none', () => {
    expect(snapshotTombstone(undefined, undefined)).toEqual({});
  });

  it('given the same pattern configured and stored, then it, without a note', () => {
    expect(snapshotTombstone({ data: { op: ['delete'] } }, pattern)).toEqual({ tombstone: pattern });
  });

  it('given none configured but one stored with the snapshot, then the stored one, and a note', () => {
    const { tombstone, note } = snapshotTombstone(undefined, pattern);
    expect(tombstone).toEqual(pattern);
    expect(note).toMatch(/^no tombstone pattern is configured for this run; the snapshot's own/);
  });

  it('given a different pattern configured, then the configured one, and a note naming both', () => {
    const configured = { partitionKey: [{ prefix: 'gone-' }] };
    const { tombstone, note } = snapshotTombstone(configured, pattern);
    expect(tombstone).toEqual(configured);
    expect(note).toContain('tombstone pattern changed from {"data":{"op":["delete"]}} to {"partitionKey"');
  });
});
