import { failedPackageOutput } from '../support/packaged-template';

/**
 * Parameters whose wrong value CloudFormation (or the first run) would only find out after the
 * deploy started are checked when packaging, by deploy/parameters.cjs: `sls package` fails with
 * one line per wrong parameter, naming it. One package with every value wrong at once (the
 * framework reports every variable it could not resolve); the rules themselves are unit tested in
 * test/unit/deploy-parameters.test.ts.
 */
const WRONG: Record<string, [value: string, message: string]> = {
  archiveSchedule: ['every hour', '"every hour" is not an EventBridge schedule'],
  archivePrefix: ['/kinesis', '"/kinesis" must be empty or end with "/"'],
  replayTargets: ['orders, payments', '"orders, payments" must be at most 10 comma-separated stream names'],
  bucketName: ['Reservoir_Archive', '"Reservoir_Archive" is not a valid S3 bucket name'],
  logRetentionDays: ['45', '45 is not a retention CloudWatch Logs accepts: one of 1, 3, 5, 7, 14, 30, 60'],
  drillVersion: ['latest', '"latest" is not a release number'],
  queryWindowMinutes: ['5', '5 must be a whole number of minutes from 15 to 10080'],
  alarmTopicArn: ['ops-pager', '"ops-pager" is not an SNS topic ARN'],
  alarmTopicEncryption: ['aws-managed', '"aws-managed" must be kms'],
  timeToLossAlarmPercent: ['120', 'must be a number between 0 and 100, got 120'],
  archiveSilenceAlarmHours: ['200', '200 must be a whole number of hours from 1 to 168'],
  readShares: ['orders=2', '"orders=2" must be STREAM=SHARE with a share greater than 0 and at most 1'],
  efoStreams: ['orders,pay/ments', '"pay/ments" is not a stream name'],
  // Checked by deploy/lifecycle-rules.cjs (with the retention parameter), in the same one-line form.
  jsonlDays: ['orders=0', 'entry "orders=0": the days to keep converted JSONL must be a whole number >= 1'],
  athenaBytesScannedCutoff: ['1000', '1000 must be a whole number of bytes, at least 10000000'],
  streamKmsKeyArns: [
    'arn:aws:kms:us-east-1:123456789012:alias/orders',
    '"arn:aws:kms:us-east-1:123456789012:alias/orders" is not a KMS key ARN',
  ],
};

let output: string;

beforeAll(() => {
  output = failedPackageOutput(
    Object.fromEntries(Object.entries(WRONG).map(([name, [value]]) => [name, value])),
  );
}, 300_000);

describe('parameters checked when packaging', () => {
  it.each(Object.entries(WRONG))(
    'given a wrong %s, when packaging, then it fails naming the parameter and what is wrong',
    (name, [, message]) => {
      expect(output).toContain(`parameter ${name}: ${message}`);
    },
  );

  it('given wrong parameters, when packaging fails, then no stack trace is printed', () => {
    expect(output).not.toMatch(/\n\s+at .*\.cjs:\d+/);
  });
});
