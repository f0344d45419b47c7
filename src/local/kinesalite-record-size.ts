/**
 * Records up to 10 MiB, per stream, in the embedded kinesalite. kinesalite refuses record data
 * above 1 MiB (its PutRecord(s) validation) and request bodies above 7 MiB (its HTTP handler), and
 * knows neither UpdateMaxRecordSize nor DescribeStreamSummary's MaxRecordSizeInKiB. On AWS a
 * stream's maximum record size is 1 MiB until UpdateMaxRecordSize raises it (up to 10 MiB), and a
 * GetRecords answer carries at most 10 MiB.
 *
 * This mends kinesalite in-process, the way kinesalite-tags.ts mends tags, keeping its store,
 * locks, actions and errors: PutRecord, PutRecords and GetRecords are validated and run here with
 * kinesalite's own validation and actions (its Data limit raised to 10 MiB, then each record held
 * to its stream's limit); UpdateMaxRecordSize sets `MaxRecordSizeInKiB` on the stream, which
 * kinesalite's DescribeStreamSummary (and DescribeStream) then return as they are. A stream never
 * raised has no MaxRecordSizeInKiB: readers take 1 MiB.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { readBody } from './read-body';

/** AWS: a stream's maximum record size, 1024 KiB (the default) to 10240 KiB. */
const DEFAULT_MAX_RECORD_KIB = 1024;
const LARGEST_MAX_RECORD_KIB = 10240;
/** GetRecords returns at most 10 MiB of data per call. */
const GET_RECORDS_MAX_BYTES = 10 * 1024 * 1024;
/** 10 MiB of record data as base64 in JSON, with room for 500 keys (kinesalite: 7 MiB). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const TARGET_PREFIX = 'Kinesis_20131202.';
const AMZ_JSON = 'application/x-amz-json-1.1';

type Callback = (err: unknown, data?: unknown) => void;
type Action = (store: unknown, data: Record<string, unknown>, cb: Callback) => void;
interface TypeSpec {
  [key: string]: unknown;
  lengthLessThanOrEqual?: number;
  children?: TypeSpec;
}
interface ActionValidation {
  types: Record<string, TypeSpec>;
}
interface StoredStream {
  StreamStatus: string;
  MaxRecordSizeInKiB?: number;
}
export interface RecordSizeStore {
  metaDb: {
    lock(name: string, fn: (release: (cb: Callback) => Callback) => void): void;
    put(name: string, value: object, cb: (err: Error | null) => void): void;
    awsAccountId: string;
  };
  getStream(name: string, cb: (err: Error | null, stream: StoredStream) => void): void;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const validations = require('kinesalite/validations') as {
  checkTypes(data: unknown, types: Record<string, TypeSpec>): Record<string, unknown>;
  checkValidations(data: unknown, types: Record<string, TypeSpec>, custom?: unknown): void;
};
const db = require('kinesalite/db') as { clientError: (type: string, message: string) => Error };
const actions: Record<string, Action> = {
  PutRecord: require('kinesalite/actions/putRecord') as Action,
  PutRecords: require('kinesalite/actions/putRecords') as Action,
  GetRecords: require('kinesalite/actions/getRecords') as Action,
};
const putRecordValidation = require('kinesalite/validations/putRecord') as ActionValidation;
const putRecordsValidation = require('kinesalite/validations/putRecords') as ActionValidation;
const actionValidations: Record<string, ActionValidation> = {
  PutRecord: putRecordValidation,
  PutRecords: putRecordsValidation,
  GetRecords: require('kinesalite/validations/getRecords') as ActionValidation,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The Data member's type in a PutRecord or PutRecords validation. */
function dataSpec(operation: 'PutRecord' | 'PutRecords', types: Record<string, TypeSpec>): TypeSpec {
  return operation === 'PutRecord' ? types.Data! : (types.Records!.children!.children!.Data as TypeSpec);
}

const limitedTypes = new Map<string, Record<string, TypeSpec>>();

/** The validation types of a put with Data limited to `kib` (kinesalite's own error messages). */
function putTypesWithLimit(operation: 'PutRecord' | 'PutRecords', kib: number): Record<string, TypeSpec> {
  const key = `${operation}/${kib}`;
  let types = limitedTypes.get(key);
  if (!types) {
    types = structuredClone(actionValidations[operation]!.types);
    dataSpec(operation, types).lengthLessThanOrEqual = kib * 1024;
    limitedTypes.set(key, types);
  }
  return types;
}

class Answer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

function toAnswer(error: unknown, stream?: string): Answer {
  const e = error as { statusCode?: number; body?: unknown; name?: string; message?: string };
  if (e?.statusCode && e.body) return new Answer(e.statusCode, e.body);
  if (e?.name === 'NotFoundError') {
    return new Answer(400, { __type: 'ResourceNotFoundException', message: `Stream ${stream} not found.` });
  }
  return new Answer(500, { __type: 'InternalFailure', message: e?.message ?? String(error) });
}

function run(operation: string, store: unknown, data: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) =>
    actions[operation]!(store, data, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

function streamOf(store: RecordSizeStore, name: string): Promise<StoredStream> {
  return new Promise((resolve, reject) =>
    store.getStream(name, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
}

/** The stream's maximum record size in KiB (1024 until raised). */
async function maxRecordKiB(store: RecordSizeStore, stream: string): Promise<number> {
  return (await streamOf(store, stream)).MaxRecordSizeInKiB ?? DEFAULT_MAX_RECORD_KIB;
}

function dataBytes(record: { Data?: unknown }): number {
  const data = record.Data;
  if (typeof data === 'string') return Buffer.byteLength(data, 'base64');
  return Buffer.isBuffer(data) ? data.length : 0;
}

async function put(
  operation: 'PutRecord' | 'PutRecords',
  store: RecordSizeStore,
  input: unknown,
): Promise<unknown> {
  const { types } = actionValidations[operation]!;
  const data = validations.checkTypes(input, types);
  validations.checkValidations(data, types);
  const stream = data.StreamName as string;
  const kib = await maxRecordKiB(store, stream);
  // The stream's own limit, in kinesalite's words (a ValidationException naming the member).
  if (kib < LARGEST_MAX_RECORD_KIB) validations.checkValidations(data, putTypesWithLimit(operation, kib));
  return run(operation, store, data);
}

/** kinesalite's GetRecords, its answer cut at 10 MiB of data (at least one record), as on AWS. */
async function getRecords(store: RecordSizeStore, input: unknown): Promise<unknown> {
  const { types } = actionValidations.GetRecords!;
  const data = validations.checkTypes(input, types);
  validations.checkValidations(data, types);
  const result = (await run('GetRecords', store, { ...data })) as { Records: { Data?: unknown }[] };
  let bytes = 0;
  let fits = 0;
  for (const record of result.Records) {
    bytes += dataBytes(record);
    if (fits > 0 && bytes > GET_RECORDS_MAX_BYTES) break;
    fits += 1;
  }
  if (fits === result.Records.length) return result;
  // Asked again for only what fits: kinesalite then answers with the iterator after the last one.
  return run('GetRecords', store, { ...data, Limit: fits });
}

/** UpdateMaxRecordSize: the stream named by StreamARN takes records up to MaxRecordSizeInKiB. */
function updateMaxRecordSize(store: RecordSizeStore, input: Record<string, unknown>): Promise<unknown> {
  const kib = input.MaxRecordSizeInKiB;
  const arn = input.StreamARN;
  if (
    typeof kib !== 'number' ||
    !Number.isInteger(kib) ||
    kib < DEFAULT_MAX_RECORD_KIB ||
    kib > LARGEST_MAX_RECORD_KIB
  ) {
    return Promise.reject(
      new Answer(400, {
        __type: 'ValidationException',
        message: `1 validation error detected: Value '${String(kib)}' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value between ${DEFAULT_MAX_RECORD_KIB} and ${LARGEST_MAX_RECORD_KIB}`,
      }),
    );
  }
  const name =
    typeof arn === 'string' ? /^arn:aws[^:]*:kinesis:[^:]*:\d{12}:stream\/(\S+)$/.exec(arn)?.[1] : undefined;
  if (!name) {
    return Promise.reject(
      new Answer(400, {
        __type: 'InvalidArgumentException',
        message: 'StreamARN is required: arn:aws:kinesis:…:stream/NAME',
      }),
    );
  }
  return new Promise((resolve, reject) => {
    store.metaDb.lock(name, (release) => {
      const done = release((err, value) => (err ? reject(err) : resolve(value)));
      store.getStream(name, (err, stream) => {
        if (err) return done(err);
        if (stream.StreamStatus !== 'ACTIVE') {
          return done(
            db.clientError(
              'ResourceInUseException',
              `Stream ${name} under account ${store.metaDb.awsAccountId} not ACTIVE, instead in state ${stream.StreamStatus}`,
            ),
          );
        }
        store.metaDb.put(name, { ...stream, MaxRecordSizeInKiB: kib }, (putErr) =>
          putErr ? done(putErr) : done(null, {}),
        );
      });
    });
  });
}

function send(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  req.removeAllListeners();
  res.writeHead(answer.status, {
    'Content-Type': AMZ_JSON,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    'x-amz-id-2': randomBytes(72).toString('base64'),
  });
  res.end(text);
}

async function answer(operation: string, store: RecordSizeStore, body: Buffer): Promise<Answer> {
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (typeof input !== 'object' || input === null) throw new Error('not an object');
  } catch {
    return new Answer(400, { __type: 'SerializationException' });
  }
  try {
    if (operation === 'UpdateMaxRecordSize') return new Answer(200, await updateMaxRecordSize(store, input));
    if (operation === 'GetRecords') return new Answer(200, await getRecords(store, input));
    return new Answer(200, await put(operation as 'PutRecord' | 'PutRecords', store, input));
  } catch (error) {
    if (error instanceof Answer) return error;
    return toAnswer(error, typeof input.StreamName === 'string' ? input.StreamName : undefined);
  }
}

const HANDLED = new Set(['PutRecord', 'PutRecords', 'GetRecords', 'UpdateMaxRecordSize']);

/**
 * Answers PutRecord, PutRecords, GetRecords and UpdateMaxRecordSize (JSON, as the SDK sends them)
 * here, and passes everything else to the server's previous request listener. Raises kinesalite's
 * Data limit to 10 MiB (its validation modules are shared): every put is then held to its
 * stream's own limit here.
 */
export function installKinesaliteRecordSize(server: Server, store: RecordSizeStore): void {
  dataSpec('PutRecord', putRecordValidation.types).lengthLessThanOrEqual = LARGEST_MAX_RECORD_KIB * 1024;
  dataSpec('PutRecords', putRecordsValidation.types).lengthLessThanOrEqual = LARGEST_MAX_RECORD_KIB * 1024;
  const [previous] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : '';
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (req.method !== 'POST' || contentType !== AMZ_JSON || !HANDLED.has(operation))
      return previous!(req, res);
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_REQUEST_BYTES) {
      res.writeHead(413, { 'Transfer-Encoding': 'chunked' });
      res.end();
      return;
    }
    readBody(req)
      .then((body) => answer(operation, store, body))
      .then(
        (result) => send(req, res, result),
        (error: unknown) => send(req, res, toAnswer(error)),
      );
  });
}
