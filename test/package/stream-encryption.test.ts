import { ALL_PARAMETERS, packagedTemplate } from '../support/packaged-template';

/**
 * Streams encrypted with a customer managed KMS key: every role that reads records
 * (kinesis:GetRecords) may decrypt with the keys of the streamKmsKeyArns parameter, and the role
 * that puts records (replayItem, kinesis:PutRecords) may generate data keys with them; both only
 * through Kinesis in the stack's region (kms:ViaService). With the parameter empty (the default)
 * there is no KMS statement at all.
 */
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
interface Resource {
  Type: string;
  Properties: { Policies?: { PolicyDocument: { Statement: unknown[] } }[] };
}
interface Template {
  Parameters: Record<string, { Default?: string }>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, Resource>;
}

const KEYS = { 'Fn::Split': [',', { Ref: 'StreamKmsKeyArns' }] };
const VIA_KINESIS = {
  StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'kinesis.${AWS::Region}.amazonaws.com' } },
};

let template: Template;
let everyParameter: Template;

beforeAll(() => {
  template = packagedTemplate<Template>();
  everyParameter = packagedTemplate<Template>(ALL_PARAMETERS);
}, 600_000);

const actionsOf = (s: Statement) => ([] as string[]).concat(s.Action);

/** A role's statements: plain ones, and those under Fn::If [HasStreamKmsKeys, statement, AWS::NoValue]. */
function statements(role: Resource): { statement: Statement; condition?: string }[] {
  return (role.Properties.Policies ?? []).flatMap((p) =>
    p.PolicyDocument.Statement.map((entry) => {
      const conditional = (entry as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
      if (!conditional) return { statement: entry as Statement };
      expect(conditional[2]).toEqual({ Ref: 'AWS::NoValue' });
      return { statement: conditional[1], condition: conditional[0] };
    }),
  );
}

const roles = (t: Template) => Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
const grants = (role: Resource, action: string) =>
  statements(role).some(
    ({ statement }) => statement.Effect === 'Allow' && actionsOf(statement).includes(action),
  );

describe('streams encrypted with a customer managed key', () => {
  it('given the defaults, when the parameter is read, then no key is listed and the KMS statements are left out', () => {
    expect(template.Parameters.StreamKmsKeyArns!.Default).toBe('');
    expect(template.Conditions.HasStreamKmsKeys).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'StreamKmsKeyArns' }, ''] }],
    });
    for (const [, role] of roles(template))
      for (const { statement, condition } of statements(role))
        if (actionsOf(statement).some((a) => a.startsWith('kms:')))
          expect(condition).toBe('HasStreamKmsKeys');
  });

  it('given every parameter set, when the keys are listed, then the parameter holds exactly them', () => {
    expect(everyParameter.Parameters.StreamKmsKeyArns!.Default).toBe(ALL_PARAMETERS.streamKmsKeyArns);
  });

  it.each([
    ['kinesis:GetRecords', 'kms:Decrypt'],
    ['kinesis:PutRecords', 'kms:GenerateDataKey'],
  ])(
    'given every role allowed %s, when its statements are read, then it may use %s on the listed keys through Kinesis only',
    (kinesisAction, kmsAction) => {
      const users = roles(everyParameter).filter(([, role]) => grants(role, kinesisAction));
      expect(users.length).toBeGreaterThan(0);
      for (const [id, role] of users) {
        const kms = statements(role).filter(({ statement }) => actionsOf(statement).includes(kmsAction));
        expect({ id, kms }).toEqual({
          id,
          kms: [
            {
              condition: 'HasStreamKmsKeys',
              statement: expect.objectContaining({
                Effect: 'Allow',
                Action: kmsAction,
                Resource: KEYS,
                Condition: VIA_KINESIS,
              }),
            },
          ],
        });
      }
    },
  );

  it('given the roles that neither read nor put records, when their statements are read, then none may use a stream key', () => {
    for (const [id, role] of roles(everyParameter)) {
      if (grants(role, 'kinesis:GetRecords') || grants(role, 'kinesis:PutRecords')) continue;
      const kms = statements(role).filter(({ statement }) =>
        actionsOf(statement).some((a) => a.startsWith('kms:')),
      );
      expect({ id, kms }).toEqual({ id, kms: [] });
    }
  });
});
