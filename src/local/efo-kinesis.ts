/**
 * A local Kinesis endpoint with enhanced fan-out, in front of kinesalite (which has no stream
 * consumers and no SubscribeToShard). One port on 127.0.0.1 speaks HTTP/1.1 and HTTP/2 cleartext
 * (prior knowledge, what the SDK's NodeHttp2Handler does for an http:// endpoint): each
 * connection's first bytes tell which server takes it.
 *
 * - RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers, DeregisterStreamConsumer:
 *   answered here (src/local/efo-consumers.ts).
 * - SubscribeToShard (HTTP/2 only): answered here as the service does, an event stream read from
 *   kinesalite (src/local/efo-subscription.ts). Refused with HTTP 400 like AWS:
 *   ResourceNotFoundException (unknown consumer), ResourceInUseException (consumer not ACTIVE, or
 *   a subscription of this consumer to this shard succeeded less than `takeoverMs` ago, open or not; an older one
 *   is taken over, ending with a ResourceInUseException stream exception), LimitExceededException
 *   (more than one successful call per `subscribeIntervalMs` for a consumer and shard), and
 *   kinesalite's own answers to the starting position (InvalidArgumentException,
 *   ResourceNotFoundException for an unknown shard).
 * - DeleteStream of a stream with consumers: ResourceInUseException unless EnforceConsumerDeletion
 *   (which deletes them), as on AWS; then forwarded.
 * - Everything else, over either protocol, is forwarded unchanged to `forward` (default
 *   `upstream`), e.g. a throttling proxy; the endpoint's own reads go to `upstream` directly.
 */
import { listenOnLoopback } from './loopback';
import { readBody } from './read-body';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { ConsumerRegistry, type Consumer } from './efo-consumers';
import { PushBudget, pushShard } from './efo-subscription';
import { KinesaliteReads } from './efo-upstream';
import {
  EVENT_STREAM,
  JSON_1_1,
  KinesisErrorAnswer,
  asAnswer,
  errorBody,
  initialResponse,
  responseHeaders,
  streamException,
  subscribeToShardEvent,
  type WireSubscribeToShardEvent,
} from './efo-wire';

export interface EfoKinesisOptions {
  /** kinesalite, e.g. `http://127.0.0.1:4567`: the endpoint's own reads (records, shards, streams). */
  upstream: string;
  /** Where every other request goes (default `upstream`), e.g. a throttled-kinesis proxy. */
  forward?: string;
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** How long a subscription lasts (AWS: 5 minutes). */
  subscriptionMs?: number;
  /** How long a registered consumer is CREATING (and a deregistered one DELETING). Default 200 ms. */
  consumerActivationMs?: number;
  /** How often a subscription at the tip reads the shard again (default 200 ms). */
  pollMs?: number;
  /** An event without records after this long without an event (default 5 s). */
  emptyEventMs?: number;
  /** Within this long of a successful subscription (open or not) a second is refused; later it takes over (AWS: 5 s). */
  takeoverMs?: number;
  /** At most one successful SubscribeToShard per consumer and shard this often (AWS: 1 s); 0: no limit. */
  subscribeIntervalMs?: number;
  /** Data bytes pushed per second per consumer and shard (AWS: 2 MiB). */
  bytesPerSecond?: number;
}

export interface EfoShardStats {
  consumerArn: string;
  shardId: string;
  subscriptionsOpened: number;
  eventsPushed: number;
  recordsPushed: number;
  bytesPushed: number;
}

export interface EfoKinesisStats {
  subscriptionsOpened: number;
  eventsPushed: number;
  recordsPushed: number;
  /** One entry per consumer and shard ever subscribed. */
  perConsumerShard: EfoShardStats[];
}

export interface EfoKinesis {
  /** `http://127.0.0.1:PORT`, for HTTP/1.1 and HTTP/2 clients alike. */
  endpoint: string;
  stats(): EfoKinesisStats;
  /** Ends open subscriptions, closes HTTP/2 sessions and connections. */
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'Kinesis_20131202.';
const HTTP2_PREFACE = 'PRI * HTTP/2.0';
// Connection-specific headers: each hop's own, and forbidden in HTTP/2.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** What both protocols' (compatibility API) requests and responses offer. */
interface Request extends Readable {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}
interface Response extends Writable {
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders): unknown;
  readonly headersSent: boolean;
}

interface Subscription {
  consumerArn: string;
  startedAt: number;
  controller: AbortController;
  ended: boolean;
}

type EndReason = 'expired' | 'taken-over' | 'deregistered' | 'closed' | 'stopped';

function sendJson(res: Response, status: number, body: Buffer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...responseHeaders(JSON_1_1), 'content-length': String(body.length) });
  res.end(body);
}

function filteredHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !name.startsWith(':') && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function stringInput(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new KinesisErrorAnswer(
      'ValidationException',
      `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export async function startEfoKinesis(options: EfoKinesisOptions): Promise<EfoKinesis> {
  const subscriptionMs = options.subscriptionMs ?? 5 * 60_000;
  const pollMs = options.pollMs ?? 200;
  const emptyEventMs = options.emptyEventMs ?? 5_000;
  const takeoverMs = options.takeoverMs ?? 5_000;
  const subscribeIntervalMs = options.subscribeIntervalMs ?? 1_000;
  const bytesPerSecond = options.bytesPerSecond ?? 2 * 1024 * 1024;
  if (!(subscriptionMs > 0) || !(pollMs > 0) || !(emptyEventMs > 0) || !(bytesPerSecond > 0)) {
    throw new Error('subscriptionMs, pollMs, emptyEventMs and bytesPerSecond must be positive');
  }

  const kinesalite = new KinesaliteReads(options.upstream);
  const forwardUrl = new URL(options.forward ?? options.upstream);
  const forwardTransport = forwardUrl.protocol === 'https:' ? https : http;
  const forwardAgent = new forwardTransport.Agent({ keepAlive: true });

  const subscriptions = new Map<string, Subscription>();
  const lastSubscribedAt = new Map<string, number>();
  const budgets = new Map<string, PushBudget>();
  const perConsumerShard = new Map<string, EfoShardStats>();
  const running = new Set<Promise<void>>();
  const keyOf = (consumerArn: string, shardId: string) => `${consumerArn}\n${shardId}`;

  const registry = new ConsumerRegistry(
    (name) => kinesalite.describeStream(name),
    options.consumerActivationMs ?? 200,
    (consumer) => {
      for (const subscription of subscriptions.values()) {
        if (subscription.consumerArn === consumer.arn) subscription.controller.abort('deregistered');
      }
    },
  );

  function statsFor(consumerArn: string, shardId: string): EfoShardStats {
    const key = keyOf(consumerArn, shardId);
    let stats = perConsumerShard.get(key);
    if (!stats) {
      stats = {
        consumerArn,
        shardId,
        subscriptionsOpened: 0,
        eventsPushed: 0,
        recordsPushed: 0,
        bytesPushed: 0,
      };
      perConsumerShard.set(key, stats);
    }
    return stats;
  }

  /** Admits a subscription (or refuses it with an error answer) and returns how it starts. */
  async function admit(consumer: Consumer, shardId: string, position: Record<string, unknown>) {
    const key = keyOf(consumer.arn, shardId);
    const now = Date.now();
    const active = subscriptions.get(key);
    // AWS: a call within 5 s of a successful one is refused, whether or not that one is still open.
    if (now - (lastSubscribedAt.get(key) ?? -Infinity) < takeoverMs) {
      const account = consumer.streamArn.split(':')[4];
      throw new KinesisErrorAnswer(
        'ResourceInUseException',
        `Another active subscription exists for this consumer: ${account}:${consumer.streamName}:${shardId}:${consumer.name}`,
      );
    }
    if (
      !active &&
      subscribeIntervalMs > 0 &&
      now - (lastSubscribedAt.get(key) ?? -Infinity) < subscribeIntervalMs
    ) {
      throw new KinesisErrorAnswer(
        'LimitExceededException',
        `Rate exceeded for consumer ${consumer.arn} and shard ${shardId}: one SubscribeToShard per second.`,
      );
    }
    // Claimed before the first await, so a concurrent call sees it.
    const subscription: Subscription = {
      consumerArn: consumer.arn,
      startedAt: now,
      controller: new AbortController(),
      ended: false,
    };
    subscriptions.set(key, subscription);
    try {
      const start = await kinesalite.startPoint(consumer.streamName, shardId, position);
      active?.controller.abort('taken-over');
      lastSubscribedAt.set(key, now);
      return { key, subscription, start };
    } catch (error) {
      if (subscriptions.get(key) === subscription) {
        if (active && !active.ended) subscriptions.set(key, active);
        else subscriptions.delete(key);
      }
      throw asAnswer(error);
    }
  }

  async function subscribeToShard(input: Record<string, unknown>, res: Response): Promise<void> {
    const consumerArn = stringInput(input, 'ConsumerARN');
    const shardId = stringInput(input, 'ShardId');
    const position = input.StartingPosition;
    if (typeof position !== 'object' || position === null) stringInput(input, 'StartingPosition');
    const consumer = await registry.forSubscription(consumerArn);
    const { key, subscription, start } = await admit(consumer, shardId, position as Record<string, unknown>);
    const { signal } = subscription.controller;
    const stats = statsFor(consumer.arn, shardId);
    stats.subscriptionsOpened++;
    let budget = budgets.get(key);
    if (!budget) budgets.set(key, (budget = new PushBudget(bytesPerSecond)));

    const expiry = setTimeout(() => subscription.controller.abort('expired'), subscriptionMs);
    const onClose = () => subscription.controller.abort('closed');
    res.on('close', onClose);
    res.on('error', () => subscription.controller.abort('closed'));
    const write = async (message: Uint8Array) => {
      if (res.destroyed || res.writableEnded) return;
      if (res.write(message)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
        signal.addEventListener('abort', done);
      });
    };
    try {
      res.writeHead(200, responseHeaders(EVENT_STREAM));
      await write(initialResponse());
      await pushShard({
        source: kinesalite.shardSource(consumer.streamName, shardId),
        start,
        budget,
        pollMs,
        emptyEventMs,
        signal,
        send: async (event: WireSubscribeToShardEvent, records, bytes) => {
          stats.eventsPushed++;
          stats.recordsPushed += records;
          stats.bytesPushed += bytes;
          await write(subscribeToShardEvent(event));
        },
      });
      const reason = signal.reason as EndReason | undefined;
      if (reason === 'taken-over') {
        await write(
          streamException(
            'ResourceInUseException',
            `Another subscription of consumer ${consumer.arn} to shard ${shardId} took over this one.`,
          ),
        );
      } else if (reason === 'deregistered') {
        await write(
          streamException('ResourceNotFoundException', `Consumer ${consumer.arn} was deregistered.`),
        );
      }
    } catch (error) {
      // kinesalite failed mid-stream (e.g. the stream was deleted): the stream's own exception.
      const answer = asAnswer(error);
      const type = answer.type === 'ResourceNotFoundException' ? answer.type : 'InternalFailureException';
      await write(streamException(type, answer.message)).catch(() => undefined);
    } finally {
      clearTimeout(expiry);
      res.off('close', onClose);
      subscription.ended = true;
      if (subscriptions.get(key) === subscription) subscriptions.delete(key);
      if (!res.destroyed && !res.writableEnded) res.end();
    }
  }

  const LOCAL: Record<string, (input: Record<string, unknown>) => Promise<object>> = {
    RegisterStreamConsumer: (input) => registry.register(input),
    DescribeStreamConsumer: (input) => registry.describe(input),
    ListStreamConsumers: (input) => registry.list(input),
    DeregisterStreamConsumer: (input) => registry.deregister(input),
  };

  async function handle(req: Request, res: Response, isHttp2: boolean): Promise<void> {
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : '';
    if (req.method === 'POST' && operation === 'DeleteStream') return deleteStream(req, res, isHttp2);
    if (req.method !== 'POST' || (operation !== 'SubscribeToShard' && !(operation in LOCAL))) {
      return forward(req, res, isHttp2);
    }
    try {
      let input: unknown;
      try {
        input = JSON.parse((await readBody(req)).toString('utf8'));
      } catch {
        throw new KinesisErrorAnswer('SerializationException', 'Malformed JSON request body');
      }
      if (typeof input !== 'object' || input === null) {
        throw new KinesisErrorAnswer('SerializationException', 'Request body is not a JSON object');
      }
      const fields = input as Record<string, unknown>;
      if (operation === 'SubscribeToShard') {
        if (!isHttp2) {
          throw new KinesisErrorAnswer('InvalidArgumentException', 'SubscribeToShard requires HTTP/2.');
        }
        return await subscribeToShard(fields, res);
      }
      const output = await LOCAL[operation]!(fields);
      sendJson(res, 200, Buffer.from(JSON.stringify(output)));
    } catch (error) {
      const answer = asAnswer(error);
      sendJson(res, answer.status, errorBody(answer));
    }
  }

  /** Refused while the stream has consumers (unless EnforceConsumerDeletion), as on AWS; then forwarded. */
  async function deleteStream(req: Request, res: Response, isHttp2: boolean): Promise<void> {
    const body = await readBody(req);
    try {
      const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const arn = typeof input.StreamARN === 'string' ? input.StreamARN : '';
      const name = typeof input.StreamName === 'string' ? input.StreamName : arn.split(':stream/')[1];
      if (name) registry.deleteStream(name, input.EnforceConsumerDeletion === true);
    } catch (error) {
      if (error instanceof KinesisErrorAnswer) return sendJson(res, error.status, errorBody(error));
      // Not JSON: kinesalite answers it.
    }
    forward(req, res, isHttp2, body);
  }

  /**
   * Streams a request (or its `body`, already read) to `forward` and the answer back, unchanged
   * but for each hop's own headers.
   */
  function forward(req: Request, res: Response, isHttp2: boolean, body?: Buffer): void {
    const headers = filteredHeaders(req.headers);
    // HTTP/2 names the host in :authority; the signature covers it as `host`.
    const authority = req.headers[':authority'];
    if (isHttp2 && typeof authority === 'string') headers.host = authority;
    const upstreamRequest = forwardTransport.request(
      {
        protocol: forwardUrl.protocol,
        hostname: forwardUrl.hostname,
        port: forwardUrl.port,
        method: req.method,
        path: req.url,
        headers,
        agent: forwardAgent,
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, filteredHeaders(response.headers));
        response.pipe(res);
      },
    );
    upstreamRequest.on('error', (error) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, errorBody(asAnswer(error)));
    });
    res.on('close', () => {
      if (!res.writableFinished) upstreamRequest.destroy();
    });
    if (body) upstreamRequest.end(body);
    else req.pipe(upstreamRequest);
  }

  function serve(req: Request, res: Response, isHttp2: boolean): void {
    const done = handle(req, res, isHttp2)
      .catch(() => {
        if (!res.headersSent)
          sendJson(res, 500, errorBody(new KinesisErrorAnswer('InternalFailure', 'efo-kinesis', 500)));
        else res.destroy();
      })
      .finally(() => running.delete(done));
    running.add(done);
  }

  const http1Server = http.createServer((req, res) => serve(req, res, false));
  const http2Server = http2.createServer((req, res) => serve(req, res as unknown as Response, true));
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  const sockets = new Set<net.Socket>();
  // Each connection goes to the server of its protocol: HTTP/2 opens with its connection preface.
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const route = () => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        head = Buffer.concat([head, chunk]);
      }
      const start = head.subarray(0, HTTP2_PREFACE.length).toString('latin1');
      // Nothing yet, or too little to tell: wait for more (everything read, so no busy loop).
      if (start.length < HTTP2_PREFACE.length && HTTP2_PREFACE.startsWith(start)) {
        return socket.once('readable', route);
      }
      socket.unshift(head);
      (start === HTTP2_PREFACE ? http2Server : http1Server).emit('connection', socket);
    };
    socket.once('readable', route);
  });
  const endpoint = await listenOnLoopback(server, options.port);

  return {
    endpoint,
    stats: () => {
      const all = [...perConsumerShard.values()].map((entry) => ({ ...entry }));
      return {
        subscriptionsOpened: all.reduce((sum, entry) => sum + entry.subscriptionsOpened, 0),
        eventsPushed: all.reduce((sum, entry) => sum + entry.eventsPushed, 0),
        recordsPushed: all.reduce((sum, entry) => sum + entry.recordsPushed, 0),
        perConsumerShard: all,
      };
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const subscription of subscriptions.values()) subscription.controller.abort('stopped');
      registry.stop();
      // Handlers end their responses once aborted; one stuck on a silent client does not hold stop().
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
      ]);
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
      kinesalite.destroy();
      forwardAgent.destroy();
    },
  };
}
