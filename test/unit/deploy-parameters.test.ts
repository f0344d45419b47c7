/**
 * The rules of deploy/parameters.cjs, which checks the deployment parameters when serverless.yml
 * is packaged (test/package/parameters.test.ts checks that packaging fails with their message).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parameters = require('../../deploy/parameters.cjs') as Record<
  string,
  (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown>
>;

/** Resolves parameter `name` given `value`, and the other parameters given `others`. */
async function resolved(
  name: string,
  value: unknown,
  others: Record<string, unknown> = {},
): Promise<unknown> {
  const values: Record<string, unknown> = { archiveSchedule: 'rate(1 hour)', ...others, [name]: value };
  return parameters[name]!({ resolveVariable: async (variable) => values[variable.replace(/^param:/, '')] });
}

async function problem(name: string, value: unknown, others?: Record<string, unknown>): Promise<string> {
  try {
    await resolved(name, value, others);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${name}=${String(value)} was accepted`);
}

describe('deploy/parameters.cjs', () => {
  it.each([
    ['archiveSchedule', 'rate(1 hour)', 'rate(1 hour)'],
    ['archiveSchedule', 'rate(15 minutes)', 'rate(15 minutes)'],
    ['archiveSchedule', 'cron(0 * * * ? *)', 'cron(0 * * * ? *)'],
    ['archivePrefix', 'kinesis/', 'kinesis/'],
    ['archivePrefix', '', ''],
    ['replayTargets', 'orders,replica-*', 'orders,replica-*'],
    ['bucketName', '', ''],
    ['bucketName', 'reservoir-archive.example', 'reservoir-archive.example'],
    ['logRetentionDays', '731', 731],
    ['logRetentionDays', 30, 30],
    ['drillVersion', '1.21.2', '1.21.2'],
    ['queryWindowMinutes', '15', 15],
    ['alarmTopicArn', '', ''],
    [
      'alarmTopicArn',
      'arn:aws-cn:sns:cn-north-1:123456789012:ops',
      'arn:aws-cn:sns:cn-north-1:123456789012:ops',
    ],
    ['alarmTopicEncryption', 'none', 'none'],
    ['timeToLossAlarmPercent', '12.5', 12.5],
    ['archiveSilenceAlarmHours', '168', 168],
    ['streamKmsKeyArns', '', ''],
    ['readShares', ' orders=0.5, payments=1 ', 'orders=0.5,payments=1'],
    ['readShares', '', ''],
    ['efoStreams', 'orders, payments', 'orders,payments'],
    ['athenaBytesScannedCutoff', '10000000', 10_000_000],
    ['athenaBytesScannedCutoff', 100000000000, 100_000_000_000],
    [
      'streamKmsKeyArns',
      ' arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab , arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef',
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab,arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef',
    ],
  ])('given %s=%j, when resolved, then it is %j', async (name, value, expected) => {
    await expect(resolved(name, value)).resolves.toEqual(expected);
  });

  it.each([
    ['archiveSchedule', 'rate(1 hours)', 'is not an EventBridge schedule'],
    ['archiveSchedule', 'rate(2 hour)', 'is not an EventBridge schedule'],
    ['archiveSchedule', 'cron(0 * * * *)', 'is not an EventBridge schedule'],
    ['archiveSchedule', 'cron(0 * * * * *)', 'is not an EventBridge schedule'],
    ['bucketName', 'ab', 'must be 3 to 63 characters long'],
    ['bucketName', 'a..b', 'must not have two adjacent periods'],
    ['bucketName', '192.168.1.1', 'must not look like an IP address'],
    ['bucketName', 'xn--archive', 'must not begin with xn--'],
    ['bucketName', 'archive-s3alias', 'must not end with -s3alias'],
    ['logRetentionDays', '0', 'is not a retention CloudWatch Logs accepts'],
    ['queryWindowMinutes', '10081', 'from 15 to 10080'],
    ['queryWindowMinutes', '30.5', 'from 15 to 10080'],
    ['timeToLossAlarmPercent', '', 'must be a number between 0 and 100'],
    ['archiveSilenceAlarmHours', '0', 'from 1 to 168'],
    ['archiveSilenceAlarmHours', '169', 'from 1 to 168'],
    ['streamKmsKeyArns', '1234abcd-12ab-34cd-56ef-1234567890ab', 'is not a KMS key ARN'],
    ['readShares', 'orders=0', '"orders=0" must be STREAM=SHARE with a share greater than 0 and at most 1'],
    ['readShares', 'orders=1.5', 'must be STREAM=SHARE'],
    ['readShares', 'orders', 'must be STREAM=SHARE'],
    ['efoStreams', 'orders,pay ments', '"pay ments" is not a stream name'],
    ['athenaBytesScannedCutoff', '9999999', "at least 10000000 (10 MB, Athena's minimum)"],
    ['athenaBytesScannedCutoff', '1e9.5', 'must be a whole number of bytes'],
  ])('given %s=%j, when resolved, then it fails: %s', async (name, value, message) => {
    const text = await problem(name, value);
    expect(text).toMatch(new RegExp(`^parameter ${name}: `));
    expect(text).toContain(message);
  });

  it('given an archive silence alarm no longer than the schedule interval, when resolved, then it fails', async () => {
    expect(await problem('archiveSilenceAlarmHours', '6', { archiveSchedule: 'rate(6 hours)' })).toContain(
      'must be more than the interval of archiveSchedule',
    );
    await expect(
      resolved('archiveSilenceAlarmHours', '7', { archiveSchedule: 'rate(6 hours)' }),
    ).resolves.toBe(7);
    await expect(
      resolved('archiveSilenceAlarmHours', '1', { archiveSchedule: 'cron(0 3 * * ? *)' }),
    ).resolves.toBe(1);
  });
});
