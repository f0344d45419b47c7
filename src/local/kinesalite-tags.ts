/**
 * kinesalite's AddTagsToStream rejects ':' in tag keys, which AWS allows (and which
 * `reservoir:archive` needs). This replacement keeps kinesalite's behaviour otherwise: same
 * store, same lock, same errors, with AWS's character set for tags.
 */
interface Stream {
  _tags: Record<string, string>;
}
export interface Store {
  metaDb: {
    lock(name: string, fn: (release: (cb: Callback) => Callback) => void): void;
    put(name: string, value: Stream, cb: (err: Error | null) => void): void;
    awsAccountId: string;
  };
  getStream(name: string, cb: (err: Error | null, stream: Stream) => void): void;
}
type Callback = (err?: unknown, data?: unknown) => void;
type Server = import('node:http').Server;
type IncomingMessage = import('node:http').IncomingMessage;
type ServerResponse = import('node:http').ServerResponse;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const db = require('kinesalite/db') as { clientError: (type: string, message: string) => Error };

// AWS tag keys and values: Unicode letters, digits, white space, and _ . : / = + - @
const INVALID_TAG_CHARACTER = /[^\p{L}\p{N}\s_.:/=+\-@]/u;

export function addTagsToStream(
  store: Store,
  data: { StreamName: string; Tags: Record<string, string> },
  cb: Callback,
) {
  store.metaDb.lock(data.StreamName, (release) => {
    cb = release(cb);
    store.getStream(data.StreamName, (err, stream) => {
      if (err) return cb(err);
      const keys = Object.keys(data.Tags);
      if ([...keys, ...Object.values(data.Tags)].some((text) => INVALID_TAG_CHARACTER.test(text))) {
        return cb(
          db.clientError(
            'InvalidArgumentException',
            'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . : / = + - @.',
          ),
        );
      }
      if (new Set([...keys, ...Object.keys(stream._tags)]).size > 50) {
        return cb(
          db.clientError(
            'InvalidArgumentException',
            `Failed to add tags to stream ${data.StreamName} under account ${store.metaDb.awsAccountId} because a given stream cannot have more than 50 tags associated with it.`,
          ),
        );
      }
      for (const key of keys) stream._tags[key] = data.Tags[key]!;
      store.metaDb.put(data.StreamName, stream, (putErr) => (putErr ? cb(putErr) : cb()));
    });
  });
}

/**
 * Routes AddTagsToStream requests to the replacement above and everything else to kinesalite.
 * Done at the HTTP layer because kinesalite keeps its action table private.
 */
export function installKinesaliteTagFix(server: Server, store: Store): void {
  const [kinesaliteHandler] = server.listeners('request') as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers['x-amz-target'] !== 'Kinesis_20131202.AddTagsToStream')
      return kinesaliteHandler!(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (status: number, body: object) => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'Content-Type': 'application/x-amz-json-1.1',
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      let data: { StreamName: string; Tags: Record<string, string> };
      try {
        data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(400, { __type: 'SerializationException', message: 'Malformed JSON' });
      }
      addTagsToStream(store, data, (err) => {
        if (!err) return send(200, {});
        const error = err as {
          statusCode?: number;
          body?: { __type: string; message: string };
          name?: string;
          message?: string;
        };
        if (error.body) return send(error.statusCode ?? 400, error.body);
        if (error.name === 'NotFoundError') {
          return send(400, {
            __type: 'ResourceNotFoundException',
            message: `Stream ${data.StreamName} not found.`,
          });
        }
        return send(500, { __type: 'InternalFailure', message: error.message ?? 'internal error' });
      });
    });
  });
}
