// The latestTombstones parameter, checked and normalized when serverless.yml is packaged:
//
//   RESERVOIR_TOMBSTONES: ${file(./deploy/tombstones.cjs):json}
//
// The value is a JSON object mapping a stream name to the tombstone pattern of its LATEST
// snapshot: a filter pattern, or an array of patterns (an OR), in the replay filter syntax
// (src/core/filter-pattern.ts, the same validation the handlers apply). A key whose newest record
// matches it is deleted from the snapshot. `json` is the object as compact JSON ("{}" by default).
// Anything else fails packaging with a message naming the parameter and what is wrong.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');

const { validateFilter } = tsxRequire('../src/core/filter-pattern.ts', module.filename);
const { parameterError } = require('./parameters.cjs');

const PARAMETER = 'latestTombstones';
// Kinesis stream names.
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const EXAMPLE = `e.g. --param '${PARAMETER}={"orders":{"data":{"op":["delete"]}}}'`;

function fail(message) {
  throw parameterError(PARAMETER, message);
}

function parse(value) {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (error) {
    return fail(`not valid JSON (${error.message}); ${EXAMPLE}`);
  }
}

function tombstones(value) {
  const parsed = parse(value);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail(`must be a JSON object mapping stream names to tombstone patterns, ${EXAMPLE}`);
  }
  for (const [stream, pattern] of Object.entries(parsed)) {
    if (!STREAM_NAME.test(stream)) {
      fail(`"${stream}" is not a stream name (1 to 128 characters of a-z, A-Z, 0-9, "_", ".", "-")`);
    }
    try {
      validateFilter(pattern, stream);
    } catch (error) {
      fail(`tombstone pattern of stream "${stream}": ${error.message}`);
    }
  }
  return parsed;
}

module.exports = {
  json: async ({ resolveVariable }) =>
    JSON.stringify(tombstones(await resolveVariable(`param:${PARAMETER}`))),
};
