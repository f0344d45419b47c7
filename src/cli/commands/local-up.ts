import { resolve } from 'node:path';
import { startEmulators } from '../../local/emulators';
import { info } from '../output';

export interface LocalUpOptions {
  dir: string;
  kinesisPort: string;
  s3Port: string;
  bucket: string;
}

/** `reservoir local up`: embedded Kinesis and S3 on loopback until interrupted. */
export async function localUpCommand(options: LocalUpOptions): Promise<void> {
  const emulators = await startEmulators({
    dir: resolve(options.dir),
    bucket: options.bucket,
    kinesisPort: Number(options.kinesisPort),
    s3Port: Number(options.s3Port),
    persistKinesis: true,
  });
  info(`Kinesis (kinesalite, with enhanced fan-out): ${emulators.kinesisEndpoint}`);
  info(`S3 (s3rver):          ${emulators.s3Endpoint}  bucket ${emulators.bucket}`);
  info(`data:                 ${resolve(options.dir)}`);
  info('\nIn another shell:\n');
  process.stdout.write(
    Object.entries(emulators.env)
      .map(([k, v]) => `export ${k}=${v}`)
      .join('\n') + '\n',
  );
  info('\nthen e.g. `npx reservoir archive --local`. Ctrl-C stops the emulators.');
  await new Promise<void>((done) => {
    const stop = () => void emulators.stop().then(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
