import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The CloudFormation template that `sls package` compiles from serverless.yml and
 * statemachines/archive.asl.yml. Packaging is offline: no AWS credentials or network are needed;
 * fake credentials are set only so that nothing could ever pick up real ones.
 */

const root = join(__dirname, '..', '..');
const STAGE = 'dev';
const STATE_MACHINE_NAME = `reservoir-archive-${STAGE}`;
const FUNCTIONS = [
  'discoverStreams',
  'planShards',
  'loadShardPage',
  'archiveShard',
  'recordShardResult',
  'summarizeArchive',
] as const;

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown }>;
}
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface PolicyDocument {
  Statement: Statement[];
}

let template: Template;

const offlineEnv: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'fake',
  AWS_SECRET_ACCESS_KEY: 'fake',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: 'us-east-1',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_DEPRECATION_DISABLE: '*',
  SLS_INTERACTIVE_SETUP_DISABLE: '1',
  CI: 'true',
};

beforeAll(() => {
  execFileSync('npx', ['sls', 'package', '--stage', STAGE], {
    cwd: root,
    env: offlineEnv,
    timeout: 300_000,
    stdio: 'pipe',
  });
  template = JSON.parse(
    readFileSync(join(root, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
}, 300_000);

// ---- small helpers over the compiled template ---------------------------------------------

function resource(logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function props(logicalId: string): Record<string, unknown> {
  return resource(logicalId).Properties ?? {};
}

function lambdaLogicalId(functionName: string): string {
  return `${functionName[0]!.toUpperCase()}${functionName.slice(1)}LambdaFunction`;
}

/** The logical id X of `{ "Fn::GetAtt": [X, "Arn"] }`. */
function getAttTarget(value: unknown): string | undefined {
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  return getAtt?.[1] === 'Arn' ? getAtt[0] : undefined;
}

function actions(statement: Statement): string[] {
  return statement.Action === undefined ? [] : ([] as string[]).concat(statement.Action);
}

/** Every policy statement in the template: roles, policies, bucket policies. */
function allStatements(): Statement[] {
  const found: Statement[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (
      Array.isArray(record.Statement) &&
      record.Statement.every((s) => s && typeof s === 'object' && 'Effect' in s)
    ) {
      found.push(...(record.Statement as Statement[]));
    }
    Object.values(record).forEach(walk);
  };
  walk(template.Resources);
  return found;
}

/** The statements of a role's inline policies and of AWS::IAM::Policy resources attached to it. */
function roleStatements(roleLogicalId: string): Statement[] {
  const inline = (props(roleLogicalId).Policies as { PolicyDocument: PolicyDocument }[] | undefined) ?? [];
  const attached = resourcesOfType('AWS::IAM::Policy')
    .map(([, r]) => r.Properties as { Roles?: unknown[]; PolicyDocument: PolicyDocument })
    .filter((p) => p.Roles?.some((role) => (role as { Ref?: string }).Ref === roleLogicalId));
  return [...inline, ...attached].flatMap((p) => p.PolicyDocument.Statement);
}

function allowedActions(roleLogicalId: string): Set<string> {
  return new Set(
    roleStatements(roleLogicalId)
      .filter((s) => s.Effect === 'Allow')
      .flatMap(actions),
  );
}

function roleOfFunction(functionName: string): string {
  const roleId = getAttTarget(props(lambdaLogicalId(functionName)).Role);
  if (!roleId) throw new Error(`${functionName} has no role of its own`);
  return roleId;
}

/** A resource ARN as comparable text: the template of an Fn::Sub, `Ref:X` for a Ref. */
function arnText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { 'Fn::Sub'?: string | [string, unknown]; Ref?: string };
  if (typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'];
  if (Array.isArray(v['Fn::Sub'])) return v['Fn::Sub'][0];
  if (v.Ref) return `Ref:${v.Ref}`;
  return JSON.stringify(value);
}

function resourcesOf(statement: Statement): string[] {
  return ([] as unknown[]).concat(statement.Resource ?? []).map(arnText);
}

function archiveStateMachine(): [string, Resource] {
  const found = resourcesOfType('AWS::StepFunctions::StateMachine').find(
    ([, r]) => r.Properties?.StateMachineName === STATE_MACHINE_NAME,
  );
  if (!found) throw new Error(`no state machine ${STATE_MACHINE_NAME}`);
  return found;
}

interface AslState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
  Branches?: { States: Record<string, AslState> }[];
}

/** Every state of the definition, nested ones included, by name. */
function allStates(states: Record<string, AslState>): Map<string, AslState> {
  const found = new Map<string, AslState>();
  for (const [name, state] of Object.entries(states)) {
    found.set(name, state);
    const nested = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(
      (b) => b !== undefined,
    );
    for (const branch of nested) for (const [n, s] of allStates(branch.States)) found.set(n, s);
  }
  return found;
}

// ---- the tests ------------------------------------------------------------------------------

describe('packaged CloudFormation template (sls package --stage dev)', () => {
  describe('given the archive state machine', () => {
    it('when its definition is read, then it has the archive states and a Distributed Map', () => {
      const [, stateMachine] = archiveStateMachine();
      const definition = stateMachine.Properties!.DefinitionString as
        string | { 'Fn::Sub': [string, unknown] };
      const asl = JSON.parse(typeof definition === 'string' ? definition : definition['Fn::Sub'][0]) as {
        StartAt: string;
        States: Record<string, AslState>;
      };
      const states = allStates(asl.States);

      expect(asl.StartAt).toBe('DiscoverStreams');
      for (const name of [
        'DiscoverStreams',
        'PlanShards',
        'ArchiveShards',
        'ArchiveShard',
        'SummarizeArchive',
      ]) {
        expect(states.has(name)).toBe(true);
      }
      expect(states.get('ArchiveShards')?.ItemProcessor?.ProcessorConfig?.Mode).toBe('DISTRIBUTED');
    });

    it('when its task resources are resolved, then each one is one of the six functions', () => {
      const [, stateMachine] = archiveStateMachine();
      const [text, substitutions] = (
        stateMachine.Properties!.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] }
      )['Fn::Sub'];
      const asl = JSON.parse(text) as { States: Record<string, AslState> };
      const tasks = [...allStates(asl.States).values()].filter((s) => s.Type === 'Task');

      const lambdaIds = new Set(FUNCTIONS.map(lambdaLogicalId));
      expect(tasks.length).toBeGreaterThanOrEqual(6);
      for (const task of tasks) {
        const placeholder = /^\$\{(.+)\}$/.exec(task.Resource ?? '')?.[1] ?? '';
        expect(lambdaIds.has(getAttTarget(substitutions[placeholder]) ?? '')).toBe(true);
      }
    });

    it('when the schedule is read, then an EventBridge rule starts it every hour', () => {
      const [stateMachineId] = archiveStateMachine();
      const rules = resourcesOfType('AWS::Events::Rule').map(([, r]) => r.Properties!);
      const hourly = rules.find((r) => r.ScheduleExpression === 'rate(1 hour)');

      expect(hourly).toBeDefined();
      expect(hourly!.State).toBe('ENABLED');
      expect(hourly!.Targets).toEqual([expect.objectContaining({ Arn: { Ref: stateMachineId } })]);
    });

    it('when its role is read, then it can start (and describe, stop) child executions of itself', () => {
      const [, stateMachine] = archiveStateMachine();
      const roleId = getAttTarget(stateMachine.Properties!.RoleArn)!;
      const statements = roleStatements(roleId).filter((s) => s.Effect === 'Allow');
      const allows = (action: string, suffix: string) =>
        statements.some((s) => actions(s).includes(action) && resourcesOf(s).some((r) => r.endsWith(suffix)));

      expect(allows('states:StartExecution', `:stateMachine:${STATE_MACHINE_NAME}`)).toBe(true);
      expect(allows('states:DescribeExecution', `:execution:${STATE_MACHINE_NAME}/*`)).toBe(true);
      expect(allows('states:StopExecution', `:execution:${STATE_MACHINE_NAME}/*`)).toBe(true);
      expect(allowedActions(roleId).has('lambda:InvokeFunction')).toBe(true);
    });

    it('when the stack outputs are read, then the CLI finds the state machine and the bucket', () => {
      const [stateMachineId] = archiveStateMachine();

      expect(template.Outputs?.ArchiveStateMachineArn?.Value).toEqual({ Ref: stateMachineId });
      expect(template.Outputs?.ArchiveBucketName?.Value).toEqual({ Ref: 'ArchiveBucket' });
    });
  });

  describe('given the six archive functions', () => {
    it('when their definitions are read, then each runs on nodejs22.x with the reservoir environment', () => {
      const functions = resourcesOfType('AWS::Lambda::Function');

      expect(functions.map(([id]) => id).sort()).toEqual(FUNCTIONS.map(lambdaLogicalId).sort());
      for (const [, fn] of functions) {
        expect(fn.Properties!.Runtime).toBe('nodejs22.x');
        expect((fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables).toEqual(
          expect.objectContaining({
            RESERVOIR_BUCKET: { Ref: 'ArchiveBucket' },
            RESERVOIR_PREFIX: expect.anything(),
            RESERVOIR_STREAMS: '',
            NODE_OPTIONS: '--enable-source-maps',
          }),
        );
      }
      expect(props(lambdaLogicalId('archiveShard'))).toEqual(
        expect.objectContaining({ Timeout: 900, MemorySize: 1024 }),
      );
    });

    it('when their artifacts are read, then each is an esbuild bundle of its handler (no node_modules)', () => {
      for (const name of FUNCTIONS) {
        const handler = props(lambdaLogicalId(name)).Handler as string;
        const zip = readFileSync(join(root, '.serverless', `${name}.zip`));

        expect(zip.includes(`${handler.replace(/\.handler$/, '')}.js`)).toBe(true);
        expect(zip.includes('node_modules/')).toBe(false);
      }
    });

    it('when their roles are read, then each has its own role, trusted by Lambda, with no managed policies', () => {
      const roles = FUNCTIONS.map(roleOfFunction);

      expect(new Set(roles).size).toBe(FUNCTIONS.length);
      for (const roleId of roles) {
        expect(resource(roleId).Type).toBe('AWS::IAM::Role');
        expect(props(roleId).ManagedPolicyArns).toBeUndefined();
        expect(JSON.stringify(props(roleId).AssumeRolePolicyDocument)).toContain('lambda.amazonaws.com');
      }
      expect(resourcesOfType('AWS::IAM::Role').map(([id]) => id)).not.toContain('IamRoleLambdaExecution');
    });

    it('when archiveShard is authorized, then it reads Kinesis and writes S3 but never puts records', () => {
      const allowed = allowedActions(roleOfFunction('archiveShard'));

      for (const action of [
        'kinesis:GetShardIterator',
        'kinesis:GetRecords',
        's3:GetObject',
        's3:PutObject',
      ]) {
        expect(allowed.has(action)).toBe(true);
      }
      expect(allowed.has('kinesis:PutRecord')).toBe(false);
      expect(allowed.has('kinesis:PutRecords')).toBe(false);
    });

    it('when discoverStreams is authorized, then it lists streams and tags and cannot write to S3', () => {
      const allowed = allowedActions(roleOfFunction('discoverStreams'));

      expect(allowed.has('kinesis:ListStreams')).toBe(true);
      expect(allowed.has('kinesis:ListTagsForStream')).toBe(true);
      expect(allowed.has('s3:PutObject')).toBe(false);
    });

    it('when any function is authorized, then it may write only its own log group', () => {
      for (const name of FUNCTIONS) {
        const logStatements = roleStatements(roleOfFunction(name)).filter((s) =>
          actions(s).some((a) => a.startsWith('logs:')),
        );
        const logGroupId = lambdaLogicalId(name).replace(/LambdaFunction$/, 'LogGroup');

        expect(logStatements.length).toBeGreaterThan(0);
        for (const statement of logStatements) {
          expect(actions(statement).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
          expect(getAttTarget(statement.Resource)).toBe(logGroupId);
        }
      }
    });
  });

  describe('given every policy statement in the template', () => {
    it('when the allowed actions are listed, then none is a wildcard (no "*", no "service:*")', () => {
      const allows = allStatements().filter((s) => s.Effect === 'Allow');

      expect(allows.length).toBeGreaterThan(10);
      for (const statement of allows) {
        expect(statement.NotAction).toBeUndefined();
        for (const action of actions(statement)) {
          expect(action).not.toBe('*');
          expect(action).not.toMatch(/:\*$/);
        }
      }
    });
  });

  describe('given the archive bucket', () => {
    it('when its properties are read, then it is encrypted, private and retained', () => {
      const bucket = resource('ArchiveBucket');
      const encryption = (
        bucket.Properties!.BucketEncryption as {
          ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string } }[];
        }
      ).ServerSideEncryptionConfiguration;

      expect(bucket.Type).toBe('AWS::S3::Bucket');
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(encryption.map((rule) => rule.ServerSideEncryptionByDefault.SSEAlgorithm)).toEqual(['AES256']);
      expect(bucket.Properties!.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    });

    it('when its lifecycle is read, then run files expire after 7 days and stale uploads are aborted', () => {
      const rules = (props('ArchiveBucket').LifecycleConfiguration as { Rules: Record<string, unknown>[] })
        .Rules;

      expect(rules).toContainEqual(
        expect.objectContaining({
          Status: 'Enabled',
          Prefix: { 'Fn::Sub': '${ArchivePrefix}runs/' },
          ExpirationInDays: 7,
        }),
      );
      expect(rules).toContainEqual(
        expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: expect.anything() }),
      );
    });

    it('when its bucket policy is read, then any request without TLS is denied, on the bucket and its objects', () => {
      const policies = resourcesOfType('AWS::S3::BucketPolicy')
        .map(([, r]) => r.Properties as { Bucket: unknown; PolicyDocument: PolicyDocument })
        .filter((p) => (p.Bucket as { Ref?: string }).Ref === 'ArchiveBucket');
      const denyInsecure = policies
        .flatMap((p) => p.PolicyDocument.Statement)
        .find((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');

      expect(denyInsecure).toBeDefined();
      expect(denyInsecure!.Principal).toBe('*');
      expect(actions(denyInsecure!)).toEqual(['s3:*']);
      expect(([] as unknown[]).concat(denyInsecure!.Resource)).toEqual([
        { 'Fn::GetAtt': ['ArchiveBucket', 'Arn'] },
        { 'Fn::Sub': '${ArchiveBucket.Arn}/*' },
      ]);
    });
  });
});
