import { CheckpointConflictError } from '../core/errors';
import type { ObjectStore, StoredJson } from '../core/ports';

/**
 * A bucket seen through a scratch layer: reads fall through to the real bucket, writes stay in
 * memory. `reservoir replay --plan` validates and plans with the real code on it, so the plan is
 * the one a run would make while nothing is written (it needs only read access).
 */
export class ScratchStore implements ObjectStore {
  private readonly written = new Map<string, Buffer>();
  private readonly deleted = new Set<string>();

  constructor(private readonly base: ObjectStore) {}

  /** Keys the plan would have written. */
  get writtenKeys(): string[] {
    return [...this.written.keys()].sort();
  }

  async getJson<T>(key: string): Promise<StoredJson<T> | null> {
    const body = this.written.get(key);
    if (body) return { value: JSON.parse(body.toString('utf8')) as T, etag: `"scratch-${body.length}"` };
    if (this.deleted.has(key)) return null;
    return this.base.getJson<T>(key);
  }

  async putJsonIfMatch(key: string, value: unknown, expectedEtag: string | null): Promise<string> {
    const current = await this.getJson(key);
    if ((expectedEtag === null) !== (current === null) || (current && current.etag !== expectedEtag))
      throw new CheckpointConflictError(`conditional write of ${key} failed (scratch)`);
    await this.putJson(key, value);
    return (await this.getJson(key))!.etag;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.putObject(key, Buffer.from(JSON.stringify(value)));
  }

  async putObject(key: string, body: Uint8Array): Promise<void> {
    this.written.set(key, Buffer.from(body));
    this.deleted.delete(key);
  }

  async getObject(key: string): Promise<Uint8Array | null> {
    const body = this.written.get(key);
    if (body) return body;
    if (this.deleted.has(key)) return null;
    return this.base.getObject(key);
  }

  /** Objects written here carry no metadata; others are asked of the bucket. */
  async getMetadata(key: string): Promise<Record<string, string> | null> {
    if (this.written.has(key)) return {};
    if (this.deleted.has(key)) return null;
    return this.base.getMetadata(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.getObject(key)) !== null;
  }

  async listObjects(prefix: string): Promise<{ key: string; bytes: number }[]> {
    const listed = new Map(
      (await this.base.listObjects(prefix))
        .filter((o) => !this.deleted.has(o.key))
        .map((o) => [o.key, o.bytes]),
    );
    for (const [key, body] of this.written) if (key.startsWith(prefix)) listed.set(key, body.length);
    return [...listed]
      .map(([key, bytes]) => ({ key, bytes }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)); // S3's byte order
  }

  async listKeys(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  async firstKey(prefix: string): Promise<string | null> {
    return (await this.listKeys(prefix))[0] ?? null;
  }

  async deleteKeys(keys: string[]): Promise<void> {
    for (const key of keys) {
      this.written.delete(key);
      this.deleted.add(key);
    }
  }

  async tagObjects(): Promise<void> {}
}
