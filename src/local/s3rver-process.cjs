// Runs s3rver in its own process: its paged listings need --openssl-legacy-provider, a flag
// the rest of reservoir should not run under. Prints one JSON line when ready.
// s3rver-shims.cjs adds what retention needs and s3rver lacks: bucket lifecycle configurations
// (stored, never enforced) and object tags given with PutObject.
'use strict';
const S3rver = require('s3rver');
const { installS3rverShims } = require('./s3rver-shims.cjs');

const [directory, port, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  allowMismatchedSignatures: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
});
installS3rverShims(server);
server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ ready: true, port: address.port })}\n`),
  (error) => {
    process.stderr.write(`s3rver failed to start: ${error.message}\n`);
    process.exit(1);
  },
);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open; when it goes away, so do we.
process.stdin.on('end', stop);
process.stdin.resume();
