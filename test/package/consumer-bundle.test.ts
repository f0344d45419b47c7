import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('kinesis-reservoir/consumer as published', () => {
  // Inside the repository, so the bundle resolves its one dependency (aws-kinesis-agg) as an install would.
  const root = join(__dirname, '..', '..', '.reservoir');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'consumer-bundle-'));
  const outfile = join(dir, 'index.cjs');

  beforeAll(() => {
    execFileSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'build-consumer.cjs'), outfile]);
  });

  it('bundles without the AWS SDK', () => {
    const code = readFileSync(outfile, 'utf8');
    expect(code).not.toMatch(/@aws-sdk|@smithy|require\("aws-sdk"\)/);
  });

  it('decodes a replayed envelope and applies the consistency rule from plain Node', () => {
    const script = `
      const c = require(${JSON.stringify(outfile)});
      const line = { stream: 's', shardId: 'shardId-000000000001', sequenceNumber: '100', subSequenceNumber: 0,
        partitionKey: 'k', arrivalTimestamp: 1, data: '{"v":1}', encoding: 'utf8' };
      const envelope = c.encodeEnvelope(line, 'r1', { forceOverwrite: false });
      const replayed = c.decodeRecord({ SequenceNumber: '900', PartitionKey: 'k', Data: envelope, ApproximateArrivalTimestamp: new Date() }, 'shardId-000000000000');
      const live = c.decodeRecord({ SequenceNumber: '200', PartitionKey: 'k', Data: Buffer.from('{"v":2}'), ApproximateArrivalTimestamp: new Date() }, 'shardId-000000000001');
      const tracker = new c.KeyStateTracker();
      const state = {};
      tracker.offer(live, (r) => (state[r.partitionKey] = r.payload.toString()));
      tracker.offer(replayed, (r) => (state[r.partitionKey] = r.payload.toString()));
      process.stdout.write(JSON.stringify(state));
    `;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))).toEqual({
      k: '{"v":2}',
    });
  });
});
