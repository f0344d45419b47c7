import { decodePayload, encodePayload, type RecordLine } from './record-line';

/**
 * The replay envelope (DESIGN.md "Replayed records and the consistency rule"): what a replay in
 * `envelope` format puts into the target stream, with the record's original partition key.
 *
 *     {"reservoir":{"replayId":"…","source":{"stream","shardId","sequenceNumber",
 *      "subSequenceNumber","arrivalTimestamp"},"annotations":{…}},"data":…,"encoding":…}
 *
 * `data` is the original payload: its JSON value (`"encoding":"json"`) when the payload is JSON
 * text that serializes back to exactly the same bytes, otherwise its text (`"utf8"`) or base64
 * (`"base64"`) exactly as in the archive's record line. Decoding always gives back the original
 * bytes.
 *
 * Pure: no AWS SDK.
 */
export type EnvelopeEncoding = 'json' | 'utf8' | 'base64';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Where the replayed record was originally: its position in the source stream. */
export interface EnvelopeSource {
  stream: string;
  shardId: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  /** Epoch milliseconds (the original ApproximateArrivalTimestamp). */
  arrivalTimestamp: number;
}

export interface EnvelopeHeader {
  replayId: string;
  source: EnvelopeSource;
  /** The replay request's `annotations` (a JSON object), e.g. `{"forceOverwrite":true}`. */
  annotations: Record<string, unknown>;
}

export type ReplayEnvelope =
  | { reservoir: EnvelopeHeader; data: JsonValue; encoding: 'json' }
  | { reservoir: EnvelopeHeader; data: string; encoding: 'utf8' | 'base64' };

const TOP_KEYS = ['reservoir', 'data', 'encoding'];
const HEADER_KEYS = ['replayId', 'source', 'annotations'];
const SOURCE_KEYS = ['stream', 'shardId', 'sequenceNumber', 'subSequenceNumber', 'arrivalTimestamp'];

// fatal: a payload that is not UTF-8 cannot be an envelope; ignoreBOM: a BOM is not ours.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^\d+$/;
// A lone surrogate would not survive a UTF-8 round trip.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const OPEN_BRACE = 0x7b;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasExactly(value: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((key) => Object.prototype.hasOwnProperty.call(value, key));
}

function isSource(value: unknown): value is EnvelopeSource {
  return (
    isPlainObject(value) &&
    hasExactly(value, SOURCE_KEYS) &&
    typeof value.stream === 'string' &&
    value.stream.length > 0 &&
    typeof value.shardId === 'string' &&
    value.shardId.length > 0 &&
    typeof value.sequenceNumber === 'string' &&
    DECIMAL.test(value.sequenceNumber) &&
    Number.isSafeInteger(value.subSequenceNumber) &&
    (value.subSequenceNumber as number) >= 0 &&
    typeof value.arrivalTimestamp === 'number' &&
    Number.isFinite(value.arrivalTimestamp)
  );
}

function isCanonicalBase64(text: string): boolean {
  return BASE64.test(text) && Buffer.from(text, 'base64').toString('base64') === text;
}

/** The payload as an envelope stores it: JSON only when that gives back the exact bytes. */
function envelopeData(line: RecordLine): { data: JsonValue | string; encoding: EnvelopeEncoding } {
  if (line.encoding === 'base64') {
    // Normalized, so that decoders may insist on canonical base64.
    return { data: decodePayload(line.data, 'base64').toString('base64'), encoding: 'base64' };
  }
  const text = line.data;
  if (LONE_SURROGATE.test(text)) throw new TypeError('Record line text is not well-formed UTF-16');
  try {
    const value = JSON.parse(text) as JsonValue;
    // Insignificant whitespace, reordered or duplicate keys, 1.0, big integers beyond 2^53 …
    // would not come back byte for byte: those payloads stay text.
    if (JSON.stringify(value) === text) return { data: value, encoding: 'json' };
  } catch {
    // not JSON: text
  }
  return { data: text, encoding: 'utf8' };
}

/**
 * The original record of an archived line: the line itself, or — when its payload is itself a
 * replay envelope (replayed records are archived from the target stream like any record, and a
 * later replay may cover them) — the record that envelope carries, at ITS original position.
 */
function originalRecord(line: RecordLine): RecordLine {
  const archived = line.encoding === 'utf8' ? decodeEnvelope(Buffer.from(line.data, 'utf8')) : null;
  if (archived === null) return line;
  const original = innermostEnvelope(archived);
  return { ...line, ...original.reservoir.source, ...encodePayload(envelopePayload(original)) };
}

/**
 * The bytes a replay in `envelope` format puts into the target stream for one archived record
 * line. Envelopes never nest: a line whose payload is itself an envelope is re-enveloped with
 * the original source position and payload it carries, so `source` is always the position of
 * the record a producer wrote. Field order is the documented one; decoders do not depend on it.
 */
export function encodeEnvelope(
  line: RecordLine,
  replayId: string,
  annotations: Record<string, unknown>,
): Buffer {
  if (typeof replayId !== 'string' || replayId.length === 0) {
    throw new TypeError('replayId must be a non-empty string');
  }
  if (!isPlainObject(annotations)) throw new TypeError('annotations must be a JSON object');
  // What a decoder will see: undefined members dropped, toJSON applied. Must still be an object.
  const jsonAnnotations = JSON.parse(JSON.stringify(annotations)) as unknown;
  if (!isPlainObject(jsonAnnotations)) throw new TypeError('annotations must be a JSON object');
  const original = originalRecord(line);
  const source = {
    stream: original.stream,
    shardId: original.shardId,
    sequenceNumber: original.sequenceNumber,
    subSequenceNumber: original.subSequenceNumber,
    arrivalTimestamp: original.arrivalTimestamp,
  };
  if (!isSource(source)) {
    throw new TypeError(`Record line has no valid source position: ${JSON.stringify(source).slice(0, 300)}`);
  }
  const { data, encoding } = envelopeData(original);
  return Buffer.from(
    JSON.stringify({ reservoir: { replayId, source, annotations: jsonAnnotations }, data, encoding }),
    'utf8',
  );
}

/** The envelope a parsed JSON value is, or null: exactly these keys at every level, with their types. */
function asEnvelope(value: unknown): ReplayEnvelope | null {
  if (!isPlainObject(value) || !hasExactly(value, TOP_KEYS)) return null;
  const header = value.reservoir;
  if (
    !isPlainObject(header) ||
    !hasExactly(header, HEADER_KEYS) ||
    typeof header.replayId !== 'string' ||
    header.replayId.length === 0 ||
    !isSource(header.source) ||
    !isPlainObject(header.annotations)
  ) {
    return null;
  }
  const reservoir: EnvelopeHeader = {
    replayId: header.replayId,
    source: header.source,
    annotations: header.annotations,
  };
  const { data, encoding } = value;
  if (encoding === 'json') return { reservoir, data: data as JsonValue, encoding };
  if (encoding === 'utf8' && typeof data === 'string' && !LONE_SURROGATE.test(data)) {
    return { reservoir, data, encoding };
  }
  if (encoding === 'base64' && typeof data === 'string' && isCanonicalBase64(data)) {
    return { reservoir, data, encoding };
  }
  return null;
}

/**
 * The envelope in a record's bytes, or null when the bytes are not a replay envelope. Only the
 * exact shape counts (exactly these keys at every level, with their types; the bytes start with
 * `{`), so an ordinary JSON payload — even one with a `reservoir` key — is not mistaken for an
 * envelope. Key order and whitespace inside the object do not matter.
 */
export function decodeEnvelope(bytes: Uint8Array): ReplayEnvelope | null {
  // Cheap rejection of binary and non-object payloads before decoding and parsing.
  if (bytes.length < 2 || bytes[0] !== OPEN_BRACE) return null;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return null;
  }
  return asEnvelope(value);
}

/** The envelope this envelope carries as its payload (the replay of a replayed record), or null. */
export function nestedEnvelope(envelope: ReplayEnvelope): ReplayEnvelope | null {
  if (envelope.encoding === 'json') return asEnvelope(envelope.data);
  if (envelope.encoding === 'utf8') return decodeEnvelope(Buffer.from(envelope.data, 'utf8'));
  return null;
}

/**
 * Follows nested envelopes down to the one that carries the original record: its source is the
 * record's original position and its payload the original bytes.
 */
export function innermostEnvelope(envelope: ReplayEnvelope): ReplayEnvelope {
  let current = envelope;
  for (let inner = nestedEnvelope(current); inner !== null; inner = nestedEnvelope(current)) current = inner;
  return current;
}

/** The original payload bytes the envelope carries. */
export function envelopePayload(envelope: ReplayEnvelope): Buffer {
  switch (envelope.encoding) {
    case 'json':
      return Buffer.from(JSON.stringify(envelope.data), 'utf8');
    case 'utf8':
      return Buffer.from(envelope.data, 'utf8');
    case 'base64':
      return Buffer.from(envelope.data, 'base64');
  }
}
