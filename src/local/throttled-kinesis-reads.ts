/**
 * The read side of the throttling proxy (`throttled-kinesis.ts`): AWS's per-shard GetRecords
 * limits, and who read what. No HTTP here; the proxy asks and tells.
 *
 * AWS: each shard supports up to 5 GetRecords calls per second and 2 MiB per second of reads,
 * shared by every polling consumer of the shard; the data rate is an average, so one call may
 * return up to 10 MiB and then the shard's next calls throttle until the average is back (the
 * GetRecords reference: a 10 MiB call throttles the calls of the next 5 seconds).
 *
 * Modelled as two token buckets per shard, full at start, refilling continuously up to one
 * second's worth: calls (a call takes one) and bytes. A call is admitted while the shard has a
 * call left and its bytes are not spent; its response is then charged whatever it returned, which
 * may drive the bytes into debt (10 MiB from a full 2 MiB bucket: 8 MiB of debt, so the shard's
 * calls throttle for the next 4 seconds, the call's own second being the fifth). A throttled call
 * takes nothing and is never forwarded, so it returns no records and its iterator stays where it
 * was. A record's read size is counted as on write: its data bytes plus its partition key's UTF-8
 * bytes.
 *
 * GetRecords carries only a ShardIterator, so the meter learns each iterator's shard from the
 * GetShardIterator calls (StreamName + ShardId in, ShardIterator out) and GetRecords answers
 * (NextShardIterator reads the same shard) that went through the proxy. Iterators it never saw
 * (issued by kinesalite directly, or forgotten) are not metered nor counted. Iterators expire after
 * 5 minutes in AWS (and kinesalite), so older ones are forgotten, and at most `MAX_ITERATORS` are
 * kept.
 *
 * Clients are told apart by the access key id their requests are signed with (SigV4
 * `Credential=AKID/...`); requests without one count as `anonymous`.
 */
import type http from 'node:http';

/** What a set of GetRecords calls did. */
export interface ReadCounts {
  /** GetRecords calls let through to kinesalite (whatever it answered). */
  calls: number;
  /** GetRecords calls answered with ProvisionedThroughputExceededException; never forwarded. */
  throttled: number;
  /** Records the admitted calls returned. */
  records: number;
  /** Bytes the admitted calls returned: each record's data bytes plus its partition key's UTF-8 bytes. */
  bytes: number;
}

/** One client's GetRecords calls: its totals, and per shard keyed `${streamName}/${shardId}`. */
export interface ClientReadStats extends ReadCounts {
  perShard: Record<string, ReadCounts>;
}

/** Every metered GetRecords call: totals, per shard (all clients together) and per client. */
export interface ReadStats extends ReadCounts {
  /** Per shard, keyed `${streamName}/${shardId}`: the calls that shared the shard's budget. */
  perShard: Record<string, ReadCounts>;
  /** Per client, keyed by access key id (see `clientIdOf`). */
  perClient: Record<string, ClientReadStats>;
}

/** Per-shard read limits. */
export interface ReadLimits {
  callsPerSecond: number;
  bytesPerSecond: number;
}

/** The shard an iterator reads. */
export interface ReadShard {
  stream: string;
  shardId: string;
  /** The stream's account, for the throttling message. */
  account: string;
}

/** A record as a GetRecords answer carries it (awsJson1_1: Data in base64). */
export interface ReturnedRecord {
  Data?: unknown;
  PartitionKey?: unknown;
}

/** Iterators expire 5 minutes after they are issued (GetShardIterator reference). */
export const ITERATOR_TTL_MS = 5 * 60 * 1000;
/** Iterators remembered at most; the oldest go first (a poller makes 5 per shard per second). */
export const MAX_ITERATORS = 100_000;
/** The client of a request that is not SigV4-signed. */
export const ANONYMOUS = 'anonymous';

const CREDENTIAL = /Credential=([^/,\s]+)\//;

/** The access key id a request is signed with (SigV4 `Authorization` header), or `anonymous`. */
export function clientIdOf(headers: http.IncomingHttpHeaders): string {
  const authorization = headers.authorization;
  return (typeof authorization === 'string' && CREDENTIAL.exec(authorization)?.[1]) || ANONYMOUS;
}

/**
 * The ShardId kinesalite (and AWS) resolves a GetShardIterator's ShardId to: `shardId-` and the
 * index in 12 digits; `7`, `shardId-7` and `shardId-000000000007` are one shard. Undefined when
 * kinesalite would refuse it.
 */
export function canonicalShardId(shardId: string): string | undefined {
  const index = shardId.split('-')[1] || shardId;
  if (!/^\d+$/.test(index)) return undefined;
  const value = Number.parseInt(index, 10);
  if (value > 2147483647) return undefined;
  return `shardId-${String(value).padStart(12, '0')}`;
}

/** A returned record's size against the shard's read budget: data bytes plus partition key bytes. */
export function readSize(record: ReturnedRecord): number {
  const data = typeof record.Data === 'string' ? Buffer.byteLength(record.Data, 'base64') : 0;
  const key = typeof record.PartitionKey === 'string' ? Buffer.byteLength(record.PartitionKey, 'utf8') : 0;
  return data + key;
}

/**
 * AWS's message for a throttled GetRecords. The API reference does not give it; this is the
 * wording AWS answers polling consumers with today (e.g. KCL 2.x logs: `Rate exceeded for Shard -
 * 123456789012/my-stream/shardId-000000000003`). PutRecord(s) use the older `Rate exceeded for
 * shard ... in stream ... under account ...` wording.
 */
export function readRateExceeded(shard: ReadShard): string {
  return `Rate exceeded for Shard - ${shard.account}/${shard.stream}/${shard.shardId}`;
}

/** Call and byte buckets for one shard; the bytes may go into debt by the size of a response. */
class ReadBudget {
  private calls: number;
  private bytes: number;
  private last: number;

  constructor(
    private readonly limits: ReadLimits,
    now: number,
  ) {
    this.calls = limits.callsPerSecond;
    this.bytes = limits.bytesPerSecond;
    this.last = now;
  }

  private refill(now: number): void {
    const seconds = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(this.last, now);
    const { callsPerSecond, bytesPerSecond } = this.limits;
    this.calls = Math.min(callsPerSecond, this.calls + seconds * callsPerSecond);
    this.bytes = Math.min(bytesPerSecond, this.bytes + seconds * bytesPerSecond);
  }

  /** Takes a call if one is left and the bytes are not spent. */
  tryAdmit(now: number): boolean {
    this.refill(now);
    if (this.calls < 1 || this.bytes <= 0) return false;
    this.calls -= 1;
    return true;
  }

  /** Charges what an admitted call returned, into debt if need be. */
  charge(bytes: number, now: number): void {
    this.refill(now);
    this.bytes -= bytes;
  }
}

const zero = (): ReadCounts => ({ calls: 0, throttled: 0, records: 0, bytes: 0 });
const shardKey = (shard: ReadShard) => `${shard.stream}/${shard.shardId}`;

function countsIn(map: Map<string, ReadCounts>, key: string): ReadCounts {
  let counts = map.get(key);
  if (!counts) map.set(key, (counts = zero()));
  return counts;
}

const copyOf = (map: Map<string, ReadCounts>) =>
  Object.fromEntries([...map].map(([key, counts]) => [key, { ...counts }]));

/** Per-shard read budgets, the iterators' shards, and the counts per shard and per client. */
export class ReadMeter {
  private readonly iterators = new Map<string, { shard: ReadShard; issuedAt: number }>();
  private readonly budgets = new Map<string, ReadBudget>();
  private readonly totals = zero();
  private readonly perShard = new Map<string, ReadCounts>();
  private readonly perClient = new Map<string, { totals: ReadCounts; perShard: Map<string, ReadCounts> }>();

  constructor(private readonly limits: ReadLimits) {}

  /** Learns that `iterator` reads `shard` (from a GetShardIterator or GetRecords answer). */
  remember(iterator: string, shard: ReadShard, now: number): void {
    this.forgetExpired(now);
    if (this.iterators.has(iterator)) return;
    this.iterators.set(iterator, { shard, issuedAt: now });
    // Maps keep insertion order: the first entries are the oldest.
    for (const oldest of this.iterators.keys()) {
      if (this.iterators.size <= MAX_ITERATORS) break;
      this.iterators.delete(oldest);
    }
  }

  /** The shard `iterator` reads, if the proxy saw it issued less than `ITERATOR_TTL_MS` ago. */
  shardOf(iterator: string, now: number): ReadShard | undefined {
    this.forgetExpired(now);
    return this.iterators.get(iterator)?.shard;
  }

  /** Judges one GetRecords call of `client` against the shard's budget, and counts it. */
  admit(shard: ReadShard, client: string, now: number): boolean {
    const key = shardKey(shard);
    let budget = this.budgets.get(key);
    if (!budget) this.budgets.set(key, (budget = new ReadBudget(this.limits, now)));
    const admitted = budget.tryAdmit(now);
    for (const counts of this.countsFor(shard, client)) {
      if (admitted) counts.calls++;
      else counts.throttled++;
    }
    return admitted;
  }

  /** Charges the records an admitted call returned to the shard's budget, and counts them. */
  charge(shard: ReadShard, client: string, records: readonly ReturnedRecord[], now: number): void {
    const bytes = records.reduce((sum, record) => sum + readSize(record), 0);
    this.budgets.get(shardKey(shard))?.charge(bytes, now);
    for (const counts of this.countsFor(shard, client)) {
      counts.records += records.length;
      counts.bytes += bytes;
    }
  }

  stats(): ReadStats {
    return {
      ...this.totals,
      perShard: copyOf(this.perShard),
      perClient: Object.fromEntries(
        [...this.perClient].map(([client, { totals, perShard }]) => [
          client,
          { ...totals, perShard: copyOf(perShard) },
        ]),
      ),
    };
  }

  private countsFor(shard: ReadShard, client: string): ReadCounts[] {
    const key = shardKey(shard);
    let ofClient = this.perClient.get(client);
    if (!ofClient) this.perClient.set(client, (ofClient = { totals: zero(), perShard: new Map() }));
    return [this.totals, countsIn(this.perShard, key), ofClient.totals, countsIn(ofClient.perShard, key)];
  }

  private forgetExpired(now: number): void {
    for (const [iterator, { issuedAt }] of this.iterators) {
      if (now - issuedAt < ITERATOR_TTL_MS) break;
      this.iterators.delete(iterator);
    }
  }
}
