import { ALL_PARAMETERS, packagedTemplate } from '../support/packaged-template';

/**
 * The alarms' SNS topic can be reached by CloudWatch. CloudWatch publishes to an encrypted topic
 * only if the key's policy lets cloudwatch.amazonaws.com use the key (kms:Decrypt,
 * kms:GenerateDataKey*); the AWS managed alias/aws/sns cannot. So the created topic is encrypted
 * with a customer managed key of its own (rotated) whose policy says so, or not at all with
 * alarmTopicEncryption=none; a topic given as alarmTopicArn is left as it is.
 */
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: { AWS?: unknown; Service?: string };
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Resource {
  Type: string;
  Condition?: string;
  DeletionPolicy?: string;
  Properties: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
interface Template {
  Parameters: Record<string, { Default?: unknown; AllowedValues?: unknown[] }>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, Resource>;
}

let template: Template;
let everyParameter: Template;

beforeAll(() => {
  template = packagedTemplate<Template>();
  everyParameter = packagedTemplate<Template>(ALL_PARAMETERS);
}, 600_000);

describe('the alarm topic and its key', () => {
  it('given the defaults, when the topic is created, then it is encrypted with the customer managed key of the stack', () => {
    expect(template.Parameters.AlarmTopicEncryption).toMatchObject({
      Default: 'kms',
      AllowedValues: ['kms', 'none'],
    });
    expect(template.Conditions.EncryptAlarmTopic).toEqual({
      'Fn::And': [
        { Condition: 'CreateAlarmTopic' },
        { 'Fn::Equals': [{ Ref: 'AlarmTopicEncryption' }, 'kms'] },
      ],
    });
    expect(template.Resources.AlarmTopic!.Properties.KmsMasterKeyId).toEqual({
      'Fn::If': ['EncryptAlarmTopic', { Ref: 'AlarmTopicKey' }, { Ref: 'AWS::NoValue' }],
    });
    expect(JSON.stringify(template)).not.toContain('alias/aws/sns');
  });

  it('given the key, when its properties are read, then it is rotated, has an alias and exists only with the encrypted topic', () => {
    expect(template.Resources.AlarmTopicKey).toMatchObject({
      Type: 'AWS::KMS::Key',
      Condition: 'EncryptAlarmTopic',
      Properties: { EnableKeyRotation: true },
    });
    expect(template.Resources.AlarmTopicKeyAlias).toMatchObject({
      Type: 'AWS::KMS::Alias',
      Condition: 'EncryptAlarmTopic',
      Properties: { AliasName: 'alias/reservoir-dev-alarms', TargetKeyId: { Ref: 'AlarmTopicKey' } },
    });
  });

  it('given the key policy, when it is read, then the account administers the key and CloudWatch of this account may use it for the topic', () => {
    const statements = template.Resources.AlarmTopicKey!.Properties.KeyPolicy.Statement as Statement[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
        Action: 'kms:*',
      }),
    );
    const cloudWatch = statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudWatch).toHaveLength(1);
    expect(cloudWatch[0]).toMatchObject({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('given alarmTopicEncryption=none (with every parameter set), when the template is read, then the parameter says so', () => {
    expect(everyParameter.Parameters.AlarmTopicEncryption!.Default).toBe('none');
    expect(everyParameter.Parameters.AlarmTopicArn!.Default).toBe(ALL_PARAMETERS.alarmTopicArn);
  });
});
