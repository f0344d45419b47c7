// The deployment parameters (serverless.yml `params`), checked when serverless.yml is packaged:
//
//   EvaluationPeriods: ${file(./deploy/parameters.cjs):archiveSilenceAlarmHours}
//
// Each export named after a parameter resolves to its value, normalized (numbers as numbers), or
// fails packaging with one line naming the parameter. These are the values that would otherwise
// fail only in CloudFormation (a stack rolled back half way) or at run time. `patterns` holds the
// AllowedPattern of the template parameters that CloudFormation checks as well (same regex).
'use strict';

const queryWindowInput = require('../schemas/query-window-input.schema.json');

/** The value of `param:name` is wrong: one line, no stack (the framework prints a thrown error's stack). */
function parameterError(name, message) {
  const failure = new Error(`parameter ${name}: ${message}`);
  failure.stack = failure.message;
  return failure;
}

const patterns = {
  archivePrefix: '^([^/].*/)?$',
  // Stream names are [a-zA-Z0-9_.-]{1,128}; "*" is the only wildcard the handler understands.
  replayTargets: '^([a-zA-Z0-9_.*-]{1,128}(,[a-zA-Z0-9_.*-]{1,128}){0,9})?$',
};

// CloudWatch Logs' PutRetentionPolicy accepts only these retentionInDays.
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
// PutMetricAlarm: Period x EvaluationPeriods at most 7 days (604,800 s) for a period of an hour.
const MAX_SILENCE_HOURS = 7 * 24;
const REGION = '[a-z]{2}(-[a-z]+)+-\\d';
const PARTITION = 'aws(-[a-z]+)*';
const SNS_TOPIC_ARN = new RegExp(`^arn:${PARTITION}:sns:${REGION}:\\d{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$`);
const KMS_KEY_ARN = new RegExp(
  `^arn:${PARTITION}:kms:${REGION}:\\d{12}:key/([0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`,
);
// Athena's BytesScannedCutoffPerQuery: at least 10 MB (10,000,000 bytes).
const ATHENA_MIN_CUTOFF = 10_000_000;
const RATE = /^rate\((\d+) (minute|hour|day)(s?)\)$/;
const UNIT_SECONDS = { minute: 60, hour: 3600, day: 86400 };

function text(value) {
  return value === undefined || value === null ? '' : String(value).trim();
}

function integerBetween(value, min, max) {
  const n = Number(text(value));
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** EventBridge schedule expressions: rate(1 hour), rate(15 minutes), cron(0 * * * ? *). */
function scheduleSeconds(expression) {
  const rate = RATE.exec(expression);
  if (rate) {
    const [, count, unit, plural] = rate;
    // EventBridge wants the singular for 1 and the plural otherwise.
    if (Number(count) < 1 || (Number(count) === 1) === (plural === 's')) return undefined;
    return Number(count) * UNIT_SECONDS[unit];
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  const fields = cron ? cron[1].trim().split(/\s+/) : [];
  // Six fields; one of day-of-month and day-of-week must be "?".
  if (fields.length === 6 && (fields[2] === '?') !== (fields[4] === '?')) return null;
  return undefined;
}

/** S3 general purpose bucket naming rules. */
function bucketNameProblem(name) {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'must be lowercase letters, digits, "." and "-", beginning and ending with a letter or digit';
  if (name.includes('..')) return 'must not have two adjacent periods';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'must not begin with xn--, sthree- or amzn-s3-demo-';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name))
    return 'must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3';
  return undefined;
}

/** What is wrong with a parameter's value (a check's result; a value may be a string too). */
class Problem {
  constructor(message) {
    this.message = message;
  }
}
const wrong = (message) => new Problem(message);

/**
 * Each check gets the parameter's value (and a resolver for the others) and returns the value to
 * use, or wrong(what is wrong with it).
 */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** "a,b" → ["a", "b"] (spaces around entries ignored, empty entries dropped). */
function entries(value) {
  return text(value)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

const CHECKS = {
  readShares: (value) => {
    for (const entry of entries(value)) {
      const [stream, share, extra] = entry.split('=').map((part) => part.trim());
      const number = Number(share);
      if (!STREAM_NAME.test(stream ?? '') || extra !== undefined || !(number > 0 && number <= 1))
        return wrong(
          `"${entry}" must be STREAM=SHARE with a share greater than 0 and at most 1, e.g. orders=0.5`,
        );
    }
    return entries(value).join(',');
  },
  efoStreams: (value) => {
    const bad = entries(value).find((stream) => !STREAM_NAME.test(stream));
    return bad === undefined ? entries(value).join(',') : wrong(`"${bad}" is not a stream name`);
  },
  archiveSchedule: (value) =>
    scheduleSeconds(text(value)) === undefined
      ? wrong(
          `"${text(value)}" is not an EventBridge schedule: rate(N minute|minutes|hour|hours|day|days) ` +
            '(singular for 1) or cron(minutes hours day-of-month month day-of-week year), e.g. rate(1 hour)',
        )
      : text(value),
  archivePrefix: (value) =>
    new RegExp(patterns.archivePrefix).test(text(value))
      ? text(value)
      : wrong(`"${text(value)}" must be empty or end with "/" (and not start with "/"), e.g. kinesis/`),
  replayTargets: (value) =>
    new RegExp(patterns.replayTargets).test(text(value))
      ? text(value)
      : wrong(
          `"${text(value)}" must be at most 10 comma-separated stream names (or name patterns with "*"), without spaces`,
        ),
  bucketName: (value) => {
    const problem = text(value) === '' ? undefined : bucketNameProblem(text(value));
    return problem ? wrong(`"${text(value)}" is not a valid S3 bucket name: it ${problem}`) : text(value);
  },
  logRetentionDays: (value) =>
    LOG_RETENTION_DAYS.includes(Number(text(value)))
      ? Number(text(value))
      : wrong(
          `${text(value)} is not a retention CloudWatch Logs accepts: one of ${LOG_RETENTION_DAYS.join(', ')}`,
        ),
  drillVersion: (value) =>
    /^\d+\.\d+\.\d+$/.test(text(value))
      ? text(value)
      : wrong(`"${text(value)}" is not a release number, e.g. 1.21.2`),
  queryWindowMinutes: (value) => {
    const { minimum, maximum } = queryWindowInput.properties.durationMinutes;
    return (
      integerBetween(value, minimum, maximum) ??
      wrong(`${text(value)} must be a whole number of minutes from ${minimum} to ${maximum}`)
    );
  },
  alarmTopicArn: (value) =>
    text(value) === '' || SNS_TOPIC_ARN.test(text(value))
      ? text(value)
      : wrong(
          `"${text(value)}" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), or empty to create a topic`,
        ),
  alarmTopicEncryption: (value) =>
    ['kms', 'none'].includes(text(value))
      ? text(value)
      : wrong(`"${text(value)}" must be kms (a customer managed key reservoir creates) or none`),
  timeToLossAlarmPercent: (value) =>
    text(value) !== '' && Number(text(value)) > 0 && Number(text(value)) < 100
      ? Number(text(value))
      : wrong(`must be a number between 0 and 100, got ${text(value)}`),
  archiveSilenceAlarmHours: async (value, resolveVariable) => {
    const hours = integerBetween(value, 1, MAX_SILENCE_HOURS);
    if (hours === undefined)
      return wrong(
        `${text(value)} must be a whole number of hours from 1 to ${MAX_SILENCE_HOURS} (CloudWatch evaluates an alarm over at most 7 days)`,
      );
    const interval = scheduleSeconds(text(await resolveVariable('param:archiveSchedule')));
    if (interval && hours * 3600 <= interval)
      return wrong(
        `${hours} must be more than the interval of archiveSchedule, or the alarm fires between runs`,
      );
    return hours;
  },
  athenaBytesScannedCutoff: (value) =>
    integerBetween(value, ATHENA_MIN_CUTOFF, Number.MAX_SAFE_INTEGER) ??
    wrong(
      `${text(value)} must be a whole number of bytes, at least ${ATHENA_MIN_CUTOFF} (10 MB, Athena's minimum), e.g. 100000000000`,
    ),
  streamKmsKeyArns: (value) => {
    const arns = text(value)
      .split(',')
      .map((arn) => arn.trim())
      .filter(Boolean);
    const bad = arns.find((arn) => !KMS_KEY_ARN.test(arn));
    return bad
      ? wrong(
          `"${bad}" is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID; an alias ARN does not match the key in IAM)`,
        )
      : arns.join(',');
  },
};

async function checked(name, resolveVariable) {
  const result = await CHECKS[name](await resolveVariable(`param:${name}`), resolveVariable);
  if (result instanceof Problem) throw parameterError(name, result.message);
  return result;
}

module.exports = {
  ...Object.fromEntries(
    Object.keys(CHECKS).map((name) => [name, ({ resolveVariable }) => checked(name, resolveVariable)]),
  ),
  patterns,
  parameterError,
  LOG_RETENTION_DAYS,
};
