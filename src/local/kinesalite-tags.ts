/**
 * kinesalite's AddTagsToStream rejects ':' in tag keys, which AWS allows (and which
 * `reservoir:archive` needs). This replacement keeps kinesalite's behaviour otherwise: same
 * store, same lock, same errors, with AWS's character set for tags.
 */
interface Stream {
  _tags: Record<string, string>;
}
interface Store {
  metaDb: {
    lock(name: string, fn: (release: (cb: Callback) => Callback) => void): void;
    put(name: string, value: Stream, cb: (err: Error | null) => void): void;
    awsAccountId: string;
  };
  getStream(name: string, cb: (err: Error | null, stream: Stream) => void): void;
}
type Callback = (err?: unknown, data?: unknown) => void;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const db = require('kinesalite/db') as { clientError: (type: string, message: string) => Error };

// AWS tag keys and values: Unicode letters, digits, white space, and _ . : / = + - @
const INVALID_TAG_CHARACTER = /[^\p{L}\p{N}\s_.:/=+\-@]/u;

export function addTagsToStream(store: Store, data: { StreamName: string; Tags: Record<string, string> }, cb: Callback) {
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

/** Installs the replacement before kinesalite loads its actions. */
export function installKinesaliteTagFix(): void {
  const path = require.resolve('kinesalite/actions/addTagsToStream');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Module = require('node:module') as { new (id: string): NodeJS.Module };
  const replacement = new Module(path);
  replacement.filename = path;
  replacement.loaded = true;
  replacement.exports = addTagsToStream;
  require.cache[path] = replacement;
}
