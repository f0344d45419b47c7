import type { AddressInfo, Server } from 'node:net';

/** Listens on 127.0.0.1 (port 0: a free one); resolves to `http://127.0.0.1:PORT`, or the listen error. */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
