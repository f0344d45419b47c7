/**
 * A throttle-faithful local Kinesis: an HTTP proxy in front of kinesalite that enforces the
 * per-shard write limits AWS enforces (1,000 records/s and 1 MiB/s per shard, a record's size
 * being its data bytes plus its partition key's UTF-8 bytes) and the per-shard read limits (5
 * GetRecords calls/s and 2 MiB/s per shard, shared by every client; see
 * `throttled-kinesis-reads.ts`), and answers like AWS when they are exceeded:
 *
 * - PutRecords: HTTP 200; entries over the limit carry `ErrorCode:
 *   "ProvisionedThroughputExceededException"` and AWS's `ErrorMessage`, `FailedRecordCount`
 *   counts them; the admitted entries (in order) go to kinesalite in one PutRecords and its
 *   results are merged back into their original positions. Entries are judged in request order,
 *   so an entry can fail while a later entry (for another shard, or a smaller one) succeeds.
 * - PutRecord: HTTP 400 `{"__type":"ProvisionedThroughputExceededException","message":...}`,
 *   which the SDK v3 client raises as `ProvisionedThroughputExceededException` (and, being a
 *   throttling code, retries under its default retry strategy).
 * - GetRecords: the same HTTP 400, without forwarding the call (no records, the iterator stays
 *   where it was). GetRecords carries only an iterator: the proxy learns each iterator's shard
 *   from the GetShardIterator and GetRecords answers it forwards, and lets iterators it never saw
 *   through unmetered. Reads are counted per shard and per client (the access key id a request is
 *   signed with).
 * - Everything else is streamed through untouched.
 *
 * Only the awsJson1_1 protocol (what `@aws-sdk/client-kinesis` v3 sends) is metered. Requests the
 * proxy cannot judge (CBOR bodies, malformed or invalid requests, unknown streams, StreamARN
 * addressing, which kinesalite does not support) are passed through untouched and unmetered, so
 * kinesalite produces its own answer (errors included).
 *
 * Shards are mapped as AWS does: the MD5 of the partition key (or the ExplicitHashKey) as a
 * 128-bit unsigned integer, matched against the open shards' HashKeyRange from ListShards. The
 * shard list is cached per stream, refreshed in the background after `shardRefreshMs`, at once
 * when a hash key matches no open shard, and whenever kinesalite reports a different ShardId than
 * predicted (a split or merge happened); that charge is then moved to the shard that took it.
 *
 * Budgets are token buckets per shard (one for records, one for bytes), full at start, refilling
 * continuously at the configured rate up to one second's worth, so after a second of silence a
 * shard has its whole budget again. A record larger than `bytesPerSecond` (records reach 10 MiB on
 * streams whose maximum record size is raised) goes in from a full bucket and leaves a debt.
 */
import { listenOnLoopback } from './loopback';
import { readBody } from './read-body';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  canonicalShardId,
  clientIdOf,
  readRateExceeded,
  ReadMeter,
  type ReadStats,
} from './throttled-kinesis-reads';

export type { ClientReadStats, ReadCounts, ReadStats } from './throttled-kinesis-reads';

export interface ShardStats {
  admitted: number;
  throttled: number;
}

export interface ThrottledKinesisStats {
  /** Records (PutRecord calls and PutRecords entries) let through to kinesalite. */
  admitted: number;
  /** Records answered with ProvisionedThroughputExceededException. */
  throttled: number;
  /** Per shard, keyed `${streamName}/${shardId}`. */
  perShard: Record<string, ShardStats>;
  /** GetRecords calls, per shard and per client (all zero and empty when `meterReads` is false). */
  reads: ReadStats;
}

export interface ThrottledKinesis {
  /** `http://127.0.0.1:PORT`: point a KinesisClient's `endpoint` here. */
  endpoint: string;
  stats(): ThrottledKinesisStats;
  stop(): Promise<void>;
}

export interface ThrottledKinesisOptions {
  /** The kinesalite endpoint, e.g. `http://127.0.0.1:4567`. */
  upstream: string;
  /** Port to listen on (127.0.0.1 only); 0 or absent picks a free one. */
  port?: number;
  /** Per-shard write limit in records per second (AWS: 1,000). */
  recordsPerSecond?: number;
  /** Per-shard write limit in bytes per second, data plus partition key (AWS: 1 MiB). */
  bytesPerSecond?: number;
  /** Per-shard GetRecords calls per second, shared by every client (AWS: 5). */
  readCallsPerSecond?: number;
  /**
   * Per-shard read limit in bytes per second, data plus partition key, shared by every client
   * (AWS: 2 MiB, which its GetRecords reference writes as "2 MiB" and its quotas page as "2 MB").
   * Averaged: one call may return more, and the shard's calls throttle until the debt is paid.
   */
  readBytesPerSecond?: number;
  /**
   * Whether GetRecords is metered and counted (default true). False streams GetShardIterator and
   * GetRecords through untouched, as before read limits existed.
   */
  meterReads?: boolean;
  /** How old a cached shard list may get before it is refreshed in the background (default 1 s). */
  shardRefreshMs?: number;
  /**
   * The clock the budgets refill by and shard lists age by, in milliseconds (default
   * `performance.now`). Tests pass one they move themselves, so rates are checked without sleeping.
   */
  now?: () => number;
}

const JSON_1_1 = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'Kinesis_20131202.';
const THROTTLED = 'ProvisionedThroughputExceededException';
const DEFAULT_ACCOUNT = '000000000000';
const MAX_HASH_KEY = (1n << 128n) - 1n;
// AWS's largest: a stream's own maximum record size (1 MiB unless raised) is kinesalite's to check.
const MAX_DATA_BYTES = 10 * 1024 * 1024;
// PutRecords takes 10 MiB per request since records may reach 10 MiB.
const MAX_PUT_RECORDS_BYTES = 10 * 1024 * 1024;
const EXPLICIT_HASH_KEY = /^(0|[1-9]\d{0,38})$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Hop-by-hop headers are the proxy's own business on each side.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

interface PutEntry {
  PartitionKey: string;
  Data: string;
  ExplicitHashKey?: string | null;
}
interface PutRecordsResultEntry {
  ShardId?: string;
  SequenceNumber?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}
interface ShardRange {
  shardId: string;
  start: bigint;
  end: bigint;
}
interface ShardMap {
  open: ShardRange[];
  account: string;
  fetchedAt: number;
  stale: boolean;
}
interface UpstreamResponse {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}
/** A record judged against its shard's budget. */
interface Judged {
  shardId: string;
  size: number;
  admitted: boolean;
}

/** Token buckets for one shard: records and bytes, full at start, capped at one second's worth. */
class ShardBudget {
  private records: number;
  private bytes: number;
  private last: number;

  constructor(
    private readonly recordsPerSecond: number,
    private readonly bytesPerSecond: number,
    now: number,
  ) {
    this.records = recordsPerSecond;
    this.bytes = bytesPerSecond;
    this.last = now;
  }

  private refill(now: number): void {
    const seconds = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(this.last, now);
    this.records = Math.min(this.recordsPerSecond, this.records + seconds * this.recordsPerSecond);
    this.bytes = Math.min(this.bytesPerSecond, this.bytes + seconds * this.bytesPerSecond);
  }

  /**
   * A record larger than one second's bytes (up to 10 MiB) goes in when the bucket is full and
   * leaves a debt, as AWS bursts for large records while averaging bytesPerSecond.
   */
  tryTake(size: number, now: number): boolean {
    this.refill(now);
    if (this.records < 1 || (this.bytes < size && this.bytes < this.bytesPerSecond)) return false;
    this.records -= 1;
    this.bytes -= size;
    return true;
  }

  /** Charges unconditionally (the record is already in); the debt delays later records. */
  take(size: number, now: number): void {
    this.refill(now);
    this.records -= 1;
    this.bytes -= size;
  }

  give(size: number): void {
    this.records = Math.min(this.recordsPerSecond, this.records + 1);
    this.bytes = Math.min(this.bytesPerSecond, this.bytes + size);
  }
}

/** AWS's hash key for a record: the ExplicitHashKey, or MD5(partition key) as a 128-bit integer. */
export function hashKeyOf(entry: { PartitionKey: string; ExplicitHashKey?: string | null }): bigint {
  if (entry.ExplicitHashKey != null) return BigInt(entry.ExplicitHashKey);
  return BigInt(`0x${createHash('md5').update(entry.PartitionKey, 'utf8').digest('hex')}`);
}

/** Data bytes plus partition key bytes, as AWS counts them against a shard. */
function recordSize(entry: PutEntry): number {
  return Buffer.byteLength(entry.Data, 'base64') + Buffer.byteLength(entry.PartitionKey, 'utf8');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object body, or undefined (not JSON, or not an object). */
function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether kinesalite (and AWS) would accept this entry; anything doubtful is left to kinesalite. */
function isValidEntry(value: unknown): value is PutEntry {
  if (!isObject(value)) return false;
  const { PartitionKey, Data, ExplicitHashKey } = value;
  if (typeof PartitionKey !== 'string' || PartitionKey.length < 1 || PartitionKey.length > 256) return false;
  if (typeof Data !== 'string' || Data.length % 4 !== 0 || !BASE64.test(Data)) return false;
  if (Buffer.from(Data, 'base64').toString('base64') !== Data) return false;
  if (Buffer.byteLength(Data, 'base64') > MAX_DATA_BYTES) return false;
  if (ExplicitHashKey != null) {
    if (typeof ExplicitHashKey !== 'string' || !EXPLICIT_HASH_KEY.test(ExplicitHashKey)) return false;
    if (BigInt(ExplicitHashKey) > MAX_HASH_KEY) return false;
  }
  return true;
}

function forwardableHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function withBody(headers: http.OutgoingHttpHeaders, body: Buffer): http.OutgoingHttpHeaders {
  const out = { ...headers };
  delete out['transfer-encoding'];
  out['content-length'] = String(body.length);
  return out;
}

function rateExceeded(shardId: string, stream: string, account: string): string {
  return `Rate exceeded for shard ${shardId} in stream ${stream} under account ${account}.`;
}

export async function startThrottledKinesis(options: ThrottledKinesisOptions): Promise<ThrottledKinesis> {
  const recordsPerSecond = options.recordsPerSecond ?? 1000;
  const bytesPerSecond = options.bytesPerSecond ?? 1024 * 1024;
  const shardRefreshMs = options.shardRefreshMs ?? 1000;
  const now = options.now ?? (() => performance.now());
  if (!(recordsPerSecond > 0) || !(bytesPerSecond > 0)) {
    throw new Error('recordsPerSecond and bytesPerSecond must be positive');
  }
  const readLimits = {
    callsPerSecond: options.readCallsPerSecond ?? 5,
    bytesPerSecond: options.readBytesPerSecond ?? 2 * 1024 * 1024,
  };
  if (!(readLimits.callsPerSecond > 0) || !(readLimits.bytesPerSecond > 0)) {
    throw new Error('readCallsPerSecond and readBytesPerSecond must be positive');
  }
  if (!Number.isFinite(readLimits.callsPerSecond) || !Number.isFinite(readLimits.bytesPerSecond)) {
    throw new Error(
      'readCallsPerSecond and readBytesPerSecond must be finite (meterReads: false turns reads off)',
    );
  }
  const meterReads = options.meterReads ?? true;
  const reads = new ReadMeter(readLimits);
  const upstream = new URL(options.upstream);
  const transport = upstream.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  // The proxy's own control-plane calls (ListShards, DescribeStreamSummary), properly signed.
  const control = new KinesisClient({
    endpoint: options.upstream,
    region: 'us-east-1',
    credentials: { accessKeyId: 'throttled-kinesis', secretAccessKey: 'throttled-kinesis' },
    requestHandler: new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent }),
    maxAttempts: 2,
  });

  const totals = { admitted: 0, throttled: 0 };
  const perShard = new Map<string, ShardStats>();
  const budgets = new Map<string, ShardBudget>();
  const shardMaps = new Map<string, ShardMap>();
  const pendingMaps = new Map<string, Promise<ShardMap>>();
  const accounts = new Map<string, string>();

  const shardKey = (stream: string, shardId: string) => `${stream}/${shardId}`;
  const statsFor = (stream: string, shardId: string) => {
    const key = shardKey(stream, shardId);
    let entry = perShard.get(key);
    if (!entry) perShard.set(key, (entry = { admitted: 0, throttled: 0 }));
    return entry;
  };
  const budgetFor = (stream: string, shardId: string, now: number) => {
    const key = shardKey(stream, shardId);
    let budget = budgets.get(key);
    if (!budget) budgets.set(key, (budget = new ShardBudget(recordsPerSecond, bytesPerSecond, now)));
    return budget;
  };

  async function fetchShardMap(stream: string): Promise<ShardMap> {
    const open: ShardRange[] = [];
    let nextToken: string | undefined;
    do {
      const page = await control.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: stream }),
      );
      for (const shard of page.Shards ?? []) {
        if (shard.SequenceNumberRange?.EndingSequenceNumber != null) continue;
        const range = shard.HashKeyRange;
        if (!shard.ShardId || !range?.StartingHashKey || !range.EndingHashKey) continue;
        open.push({
          shardId: shard.ShardId,
          start: BigInt(range.StartingHashKey),
          end: BigInt(range.EndingHashKey),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return { open, account: await accountOf(stream), fetchedAt: now(), stale: false };
  }

  /** The stream's account (from its ARN), for AWS's throttling messages; cached. */
  async function accountOf(stream: string): Promise<string> {
    let account = accounts.get(stream);
    if (!account) {
      const summary = await control.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      account = summary.StreamDescriptionSummary?.StreamARN?.split(':')[4] || DEFAULT_ACCOUNT;
      accounts.set(stream, account);
    }
    return account;
  }

  function refreshShardMap(stream: string): Promise<ShardMap> {
    let pending = pendingMaps.get(stream);
    if (!pending) {
      pending = fetchShardMap(stream).then(
        (map) => {
          shardMaps.set(stream, map);
          return map;
        },
        (error: unknown) => {
          shardMaps.delete(stream);
          accounts.delete(stream);
          throw error;
        },
      );
      pending.finally(() => pendingMaps.delete(stream)).catch(() => undefined);
      pendingMaps.set(stream, pending);
    }
    return pending;
  }

  /** The cached map (refreshed in the background when old or stale), or a fresh one. */
  async function shardMapFor(stream: string): Promise<ShardMap> {
    const cached = shardMaps.get(stream);
    if (!cached) return refreshShardMap(stream);
    if (cached.stale || now() - cached.fetchedAt > shardRefreshMs) {
      refreshShardMap(stream).catch(() => undefined);
    }
    return cached;
  }

  const lookup = (map: ShardMap, hashKey: bigint) =>
    map.open.find((shard) => shard.start <= hashKey && hashKey <= shard.end)?.shardId;

  /** Maps every entry to its open shard, refreshing the shard list once if one matches none. */
  async function shardsOf(stream: string, entries: PutEntry[]) {
    const hashKeys = entries.map(hashKeyOf);
    let map = await shardMapFor(stream);
    let shardIds = hashKeys.map((hashKey) => lookup(map, hashKey));
    if (shardIds.some((id) => id === undefined)) {
      map = await refreshShardMap(stream);
      shardIds = hashKeys.map((hashKey) => lookup(map, hashKey));
      if (shardIds.some((id) => id === undefined)) return undefined;
    }
    return { map, shardIds: shardIds as string[] };
  }

  /** Judges entries in request order against their shards' budgets, all at one instant. */
  function judge(stream: string, entries: PutEntry[], shardIds: string[]): Judged[] {
    const at = now();
    return entries.map((entry, i) => {
      const shardId = shardIds[i]!;
      const size = recordSize(entry);
      const admitted = budgetFor(stream, shardId, at).tryTake(size, at);
      const stats = statsFor(stream, shardId);
      if (admitted) {
        stats.admitted++;
        totals.admitted++;
      } else {
        stats.throttled++;
        totals.throttled++;
      }
      return { shardId, size, admitted };
    });
  }

  /** Takes back an admitted record's charge (kinesalite refused the request). */
  function refund(stream: string, record: Judged): void {
    budgets.get(shardKey(stream, record.shardId))?.give(record.size);
    statsFor(stream, record.shardId).admitted--;
    totals.admitted--;
  }

  /** kinesalite put the record in another shard than predicted: the shard list is out of date. */
  function reconcile(stream: string, record: Judged, actualShardId: string | undefined): void {
    if (!actualShardId || actualShardId === record.shardId) return;
    const map = shardMaps.get(stream);
    if (map) map.stale = true;
    refund(stream, record);
    const at = now();
    budgetFor(stream, actualShardId, at).take(record.size, at);
    statsFor(stream, actualShardId).admitted++;
    totals.admitted++;
    record.shardId = actualShardId;
  }

  function forward(req: http.IncomingMessage, body: Buffer): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const upstreamRequest = transport.request(
        {
          protocol: upstream.protocol,
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: withBody(forwardableHeaders(req.headers), body),
          agent,
        },
        (response) => {
          readBody(response).then(
            (responseBody) =>
              resolve({
                status: response.statusCode ?? 502,
                headers: forwardableHeaders(response.headers),
                body: responseBody,
              }),
            reject,
          );
        },
      );
      upstreamRequest.on('error', reject);
      upstreamRequest.end(body);
    });
  }

  function send(res: http.ServerResponse, response: UpstreamResponse): void {
    res.writeHead(response.status, withBody(response.headers, response.body));
    res.end(response.body);
  }

  function sendJson(res: http.ServerResponse, status: number, value: object, headers = localHeaders()): void {
    send(res, { status, headers, body: Buffer.from(JSON.stringify(value)) });
  }

  function localHeaders(): http.OutgoingHttpHeaders {
    return {
      'content-type': JSON_1_1,
      'x-amzn-requestid': randomUUID(),
      'x-amz-id-2': randomBytes(72).toString('base64'),
    };
  }

  async function handlePutRecord(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    data: Record<string, unknown>,
  ): Promise<void> {
    const stream = data.StreamName;
    if (typeof stream !== 'string' || !isValidEntry(data)) return send(res, await forward(req, body));
    const mapped = await shardsOf(stream, [data]).catch(() => undefined);
    if (!mapped) return send(res, await forward(req, body));
    const [record] = judge(stream, [data], mapped.shardIds);
    if (!record!.admitted) {
      return sendJson(res, 400, {
        __type: THROTTLED,
        message: rateExceeded(record!.shardId, stream, mapped.map.account),
      });
    }
    const response = await forward(req, body).catch((error: unknown) => {
      refund(stream, record!);
      throw error;
    });
    if (response.status !== 200) {
      refund(stream, record!);
    } else {
      try {
        reconcile(
          stream,
          record!,
          (JSON.parse(response.body.toString('utf8')) as { ShardId?: string }).ShardId,
        );
      } catch {
        // Not JSON: pass it on as it is.
      }
    }
    send(res, response);
  }

  async function handlePutRecords(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    data: Record<string, unknown>,
  ): Promise<void> {
    const stream = data.StreamName;
    const entries = data.Records;
    if (
      typeof stream !== 'string' ||
      !Array.isArray(entries) ||
      entries.length < 1 ||
      entries.length > 500 ||
      !entries.every(isValidEntry) ||
      entries.reduce((sum: number, entry: PutEntry) => sum + recordSize(entry), 0) > MAX_PUT_RECORDS_BYTES
    ) {
      return send(res, await forward(req, body));
    }
    const mapped = await shardsOf(stream, entries).catch(() => undefined);
    if (!mapped) return send(res, await forward(req, body));
    const judged = judge(stream, entries, mapped.shardIds);
    const admitted = judged.filter((record) => record.admitted);
    const throttledEntry = (record: Judged): PutRecordsResultEntry => ({
      ErrorCode: THROTTLED,
      ErrorMessage: rateExceeded(record.shardId, stream, mapped.map.account),
    });
    if (admitted.length === 0) {
      return sendJson(res, 200, { FailedRecordCount: entries.length, Records: judged.map(throttledEntry) });
    }
    const forwardedBody =
      admitted.length === entries.length
        ? body
        : Buffer.from(JSON.stringify({ ...data, Records: entries.filter((_, i) => judged[i]!.admitted) }));
    const response = await forward(req, forwardedBody).catch((error: unknown) => {
      for (const record of admitted) refund(stream, record);
      throw error;
    });
    let result: { FailedRecordCount?: number; Records?: PutRecordsResultEntry[] } | undefined;
    try {
      result = JSON.parse(response.body.toString('utf8')) as typeof result;
    } catch {
      result = undefined;
    }
    const results = result?.Records;
    if (response.status !== 200 || !Array.isArray(results) || results.length !== admitted.length) {
      for (const record of admitted) refund(stream, record);
      return send(res, response);
    }
    admitted.forEach((record, i) => {
      // A record kinesalite failed itself is not in the stream: its charge goes back.
      if (results[i]!.ErrorCode) refund(stream, record);
      else reconcile(stream, record, results[i]!.ShardId);
    });
    let next = 0;
    const records = judged.map((record) => (record.admitted ? results[next++]! : throttledEntry(record)));
    const { FailedRecordCount: upstreamFailed, Records: _records, ...rest } = result!;
    sendJson(
      res,
      200,
      {
        FailedRecordCount: (upstreamFailed ?? 0) + (entries.length - admitted.length),
        Records: records,
        ...rest,
      },
      response.headers,
    );
  }

  /** Forwards a GetShardIterator, and learns the shard of the iterator it answers with. */
  async function handleGetShardIterator(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    data: Record<string, unknown>,
  ): Promise<void> {
    const response = await forward(req, body);
    const stream = data.StreamName;
    const shardId = typeof data.ShardId === 'string' ? canonicalShardId(data.ShardId) : undefined;
    const iterator = response.status === 200 ? parseObject(response.body)?.ShardIterator : undefined;
    if (typeof stream === 'string' && shardId && typeof iterator === 'string') {
      // Without the account there is no AWS message to throttle with: the iterator goes unmetered.
      const account = await accountOf(stream).catch(() => undefined);
      if (account) reads.remember(iterator, { stream, shardId, account }, now());
    }
    send(res, response);
  }

  /** Judges a GetRecords against its shard's read budget; forwards it only when admitted. */
  async function handleGetRecords(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    data: Record<string, unknown>,
  ): Promise<void> {
    const iterator = data.ShardIterator;
    const shard = typeof iterator === 'string' ? reads.shardOf(iterator, now()) : undefined;
    if (!shard) return send(res, await forward(req, body));
    const client = clientIdOf(req.headers);
    if (!reads.admit(shard, client, now())) {
      return sendJson(res, 400, { __type: THROTTLED, message: readRateExceeded(shard) });
    }
    const response = await forward(req, body);
    const result = response.status === 200 ? parseObject(response.body) : undefined;
    if (result) {
      reads.charge(
        shard,
        client,
        Array.isArray(result.Records) ? result.Records.filter(isObject) : [],
        now(),
      );
      if (typeof result.NextShardIterator === 'string')
        reads.remember(result.NextShardIterator, shard, now());
    }
    send(res, response);
  }

  /** Streams a request to kinesalite and its answer back, untouched. */
  function passThrough(req: http.IncomingMessage, res: http.ServerResponse): void {
    const upstreamRequest = transport.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: forwardableHeaders(req.headers),
        agent,
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, forwardableHeaders(response.headers));
        response.pipe(res);
      },
    );
    upstreamRequest.on('error', (error) => fail(res, error));
    res.on('close', () => {
      if (!res.writableFinished) upstreamRequest.destroy();
    });
    req.pipe(upstreamRequest);
  }

  function fail(res: http.ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, 500, {
      __type: 'InternalFailure',
      message: `throttled-kinesis: ${error instanceof Error ? error.message : String(error)}`,
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : '';
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const handler = handlers.get(operation);
    if (req.method !== 'POST' || contentType !== JSON_1_1 || !handler) return passThrough(req, res);
    const body = await readBody(req);
    const data = parseObject(body);
    if (!data) return send(res, await forward(req, body));
    return handler(req, res, body, data);
  }

  /** The operations the proxy meters; everything else is streamed through. */
  const handlers = new Map<string, typeof handlePutRecord>([
    ['PutRecord', handlePutRecord],
    ['PutRecords', handlePutRecords],
  ]);
  if (meterReads) {
    handlers.set('GetShardIterator', handleGetShardIterator);
    handlers.set('GetRecords', handleGetRecords);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => fail(res, error));
  });
  const endpoint = await listenOnLoopback(server, options.port);

  return {
    endpoint,
    stats: () => ({
      admitted: totals.admitted,
      throttled: totals.throttled,
      perShard: Object.fromEntries([...perShard].map(([key, value]) => [key, { ...value }])),
      reads: reads.stats(),
    }),
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      control.destroy();
      agent.destroy();
    },
  };
}
