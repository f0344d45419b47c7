import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { COLUMNAR_TABLE, JSONL_TABLE } from '../../src/athena/catalog';
import { compactionFiles } from '../../src/core/compaction-spec';
import { checkpointKey, mapResultsPrefix, runPrefix } from '../../src/core/layout';
import { retiredEpochPrefix } from '../../src/core/stream-epoch';
import { RECORD_LINE_COLUMNS, RECORDS_COLUMNS } from '../../src/sql/records-view';
import { generationPrefix, snapshotPointerKey } from '../../src/core/snapshot';
import { OFFLINE_SLS_ENV } from '../support/sls-offline';
import { DUCKDB_FUNCTIONS } from '../support/packaged-template';
import { zipEntry } from '../support/zip';

/**
 * The CloudFormation template that `sls package` compiles from serverless.yml,
 * statemachines/archive.asl.yml, statemachines/replay.asl.yml, statemachines/compact.asl.yml and
 * statemachines/query-window.asl.yml.
 * Packaging is offline: no AWS credentials or network are needed; fake credentials are set only so
 * that nothing could ever pick up real ones. A second package, with --param "replayTargets=...",
 * --param "retention=..." and --param "latestTombstones=...", checks the IAM grant that
 * CloudFormation builds from the ReplayTargets parameter, the lifecycle rules built from the
 * retention parameter and the tombstones passed to DiscoverStreams. Two more, with a malformed
 * retention or latestTombstones parameter, must fail (they stop while resolving variables, before
 * anything is built).
 */

const root = join(__dirname, '..', '..');
const STAGE = 'dev';
const STATE_MACHINE_NAME = `reservoir-archive-${STAGE}`;
const REPLAY_STATE_MACHINE_NAME = `reservoir-replay-${STAGE}`;
const COMPACT_STATE_MACHINE_NAME = `reservoir-compact-${STAGE}`;
const QUERY_WINDOW_STATE_MACHINE_NAME = `reservoir-query-window-${STAGE}`;
const FUNCTIONS = [
  'discoverStreams',
  'applyRetention',
  'planShards',
  'loadShardPage',
  'archiveShard',
  'recordShardResult',
  'summarizeArchive',
  'commitSnapshot',
  'planColumnar',
  'loadColumnarHours',
  'convertHour',
  'recordConversionFailure',
] as const;
const REPLAY_FUNCTIONS = [
  'validateReplay',
  'planReplay',
  'loadReplayPage',
  'replayItem',
  'recordReplayFailure',
  'summarizeReplay',
] as const;
const COMPACT_FUNCTIONS = ['planCompaction', 'compactPartition', 'compactMerge', 'finishCompaction'] as const;
const QUERY_WINDOW_FUNCTIONS = [
  'prepareQueryWindow',
  'snapshotLiveShard',
  'storeQueryWindowToken',
  'cleanupQueryWindow',
] as const;
const ALL_FUNCTIONS = [...FUNCTIONS, ...REPLAY_FUNCTIONS, ...COMPACT_FUNCTIONS, ...QUERY_WINDOW_FUNCTIONS];
const REPLAY_TARGETS = 'orders,replica-*';
const RETENTION = 'orders=30,payments=365:STANDARD_IA@30';
const JSONL_DAYS = 'orders=7,events=3';
const TOMBSTONES =
  '{ "orders": { "data": { "op": ["delete"] } }, "payments": [{ "partitionKey": [{ "prefix": "gone-" }] }] }';

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  DependsOn?: string | string[];
}
interface Template {
  Parameters?: Record<string, { Type: string; Default?: string; AllowedPattern?: string }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown }>;
}
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface PolicyDocument {
  Statement: Statement[];
}

/** Packaged with the default parameters (replayTargets defaults to archiveStreams: empty). */
let template: Template;
/** Packaged with --param "replayTargets=orders,replica-*" --param "retention=orders=30,payments=365:STANDARD_IA@30" --param "jsonlDays=orders=7,events=3" --param "latestTombstones=TOMBSTONES". */
let targetsTemplate: Template;
/** What `sls package --param "retention=orders=30,payments=365:STANDARD_IA@10"` printed (it fails). */
let malformedRetentionOutput: string;
/** What `sls package --param 'latestTombstones={"orders":{"data":{"op":"delete"}}}'` printed (it fails). */
let malformedTombstonesOutput: string;
/** The serverless.yml stepFunctions section as the plugin read it (state machine keys). */
let stepFunctionsConfig: { stateMachines: Record<string, { id?: string; name?: string }> };

/** Runs `sls package` expecting it to fail; returns what it printed. */
function failingSlsPackage(...args: string[]): string {
  try {
    slsPackage(...args);
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    return `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`;
  }
  throw new Error(`sls package ${args.join(' ')} succeeded`);
}

function slsPackage(...args: string[]): void {
  execFileSync('npx', ['sls', 'package', '--stage', STAGE, ...args], {
    cwd: root,
    env: OFFLINE_SLS_ENV,
    timeout: 300_000,
    stdio: 'pipe',
  });
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

beforeAll(() => {
  // One after the other: both runs build their bundles in the same .esbuild/ directory. The
  // --package run goes first because every `sls package` empties .serverless/ when it starts,
  // and the artifact tests read the default run's .serverless/.
  const targetsDir = mkdtempSync(join(tmpdir(), 'reservoir-package-'));
  try {
    malformedRetentionOutput = failingSlsPackage(
      '--param',
      'retention=orders=30,payments=365:STANDARD_IA@10',
      '--package',
      targetsDir,
    );
    malformedTombstonesOutput = failingSlsPackage(
      '--param',
      'latestTombstones={"orders":{"data":{"op":"delete"}}}',
      '--package',
      targetsDir,
    );
    slsPackage(
      '--param',
      `replayTargets=${REPLAY_TARGETS}`,
      '--param',
      `retention=${RETENTION}`,
      '--param',
      `jsonlDays=${JSONL_DAYS}`,
      '--param',
      `latestTombstones=${TOMBSTONES}`,
      '--package',
      targetsDir,
    );
    targetsTemplate = readJson<Template>(join(targetsDir, 'cloudformation-template-update-stack.json'));
  } finally {
    rmSync(targetsDir, { recursive: true, force: true });
  }

  slsPackage();
  template = readJson<Template>(join(root, '.serverless', 'cloudformation-template-update-stack.json'));
  stepFunctionsConfig = readJson<{
    service: { initialServerlessConfig: { stepFunctions: typeof stepFunctionsConfig } };
  }>(join(root, '.serverless', 'serverless-state.json')).service.initialServerlessConfig.stepFunctions;
}, 300_000);

// ---- small helpers over the compiled template ---------------------------------------------

function resource(logicalId: string, t: Template = template): Resource {
  const found = t.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

function resourcesOfType(type: string, t: Template = template): [string, Resource][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}

function props(logicalId: string, t: Template = template): Record<string, unknown> {
  return resource(logicalId, t).Properties ?? {};
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

/**
 * The statements of a Statement list as CloudFormation would deploy them with the parameters'
 * defaults: a conditional one (Fn::If [condition, statement, AWS::NoValue], e.g. the stream keys'
 * grants) is there only when its condition holds.
 */
function statementsOf(list: unknown[], t: Template): Statement[] {
  return list.flatMap((entry) => {
    const conditional = (entry as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
    if (!conditional) return [entry as Statement];
    expect(conditional[2]).toEqual({ Ref: 'AWS::NoValue' });
    return condition(t, conditional[0]) ? [conditional[1]] : [];
  });
}

/** Every policy statement in the template: roles, policies, bucket policies, key policies. */
function allStatements(t: Template = template): Statement[] {
  const found: Statement[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (
      Array.isArray(record.Statement) &&
      statementsOf(record.Statement, t).every((s) => s && typeof s === 'object' && 'Effect' in s)
    ) {
      found.push(...statementsOf(record.Statement, t));
    }
    Object.values(record).forEach(walk);
  };
  walk(t.Resources);
  return found;
}

/** The statements of a role's inline policies and of AWS::IAM::Policy resources attached to it. */
function roleStatements(roleLogicalId: string, t: Template = template): Statement[] {
  const inline = (props(roleLogicalId, t).Policies as { PolicyDocument: PolicyDocument }[] | undefined) ?? [];
  const attached = resourcesOfType('AWS::IAM::Policy', t)
    .map(([, r]) => r.Properties as { Roles?: unknown[]; PolicyDocument: PolicyDocument })
    .filter((p) => p.Roles?.some((role) => (role as { Ref?: string }).Ref === roleLogicalId));
  return [...inline, ...attached].flatMap((p) => statementsOf(p.PolicyDocument.Statement, t));
}

function allowedActions(roleLogicalId: string): Set<string> {
  return new Set(
    roleStatements(roleLogicalId)
      .filter((s) => s.Effect === 'Allow')
      .flatMap(actions),
  );
}

function roleOfFunction(functionName: string, t: Template = template): string {
  const roleId = getAttTarget(props(lambdaLogicalId(functionName), t).Role);
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

function stateMachineNamed(name: string): [string, Resource] {
  const found = resourcesOfType('AWS::StepFunctions::StateMachine').find(
    ([, r]) => r.Properties?.StateMachineName === name,
  );
  if (!found) throw new Error(`no state machine ${name}`);
  return found;
}

function archiveStateMachine(): [string, Resource] {
  return stateMachineNamed(STATE_MACHINE_NAME);
}

function replayStateMachine(): [string, Resource] {
  return stateMachineNamed(REPLAY_STATE_MACHINE_NAME);
}

function compactStateMachine(): [string, Resource] {
  return stateMachineNamed(COMPACT_STATE_MACHINE_NAME);
}

function stateMachineRole([, stateMachine]: [string, Resource]): string {
  const roleId = getAttTarget(stateMachine.Properties!.RoleArn);
  if (!roleId) throw new Error('the state machine has no role of the template');
  return roleId;
}

/** Does the action pattern of a policy (e.g. kinesis:Put*) cover this action? */
function actionCovers(pattern: string, action: string): boolean {
  const regex = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${regex}$`, 'i').test(action);
}

function allowsAction(statement: Statement, action: string): boolean {
  return statement.Effect === 'Allow' && actions(statement).some((a) => actionCovers(a, action));
}

// ---- intrinsic functions, resolved the way CloudFormation would --------------------------------

const FAKE_PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '123456789012',
  'AWS::StackName': `reservoir-${STAGE}`,
  'AWS::URLSuffix': 'amazonaws.com',
};
const NO_VALUE = Symbol('AWS::NoValue');

/**
 * The value CloudFormation would compute for a stack created from the template with its
 * parameters' defaults, in account 123456789012 of eu-west-1: Ref, Fn::Sub, Fn::Join,
 * Fn::Split, Fn::Select and Fn::If (with the template's Conditions); AWS::NoValue drops list
 * elements and properties. Resources resolve to placeholders (`ref:Id`, `Id.Attr`). Any other
 * function throws, so that a test can never pass on something it did not understand.
 */
function resolve(t: Template, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => resolve(t, n)).filter((v) => v !== NO_VALUE);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node as Record<string, unknown>);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
    switch (key) {
      case 'Ref':
        return ref(t, arg as string);
      case 'Fn::GetAtt': {
        const [id, attribute] = arg as [string, string];
        return `${id}.${attribute}`;
      }
      case 'Fn::Sub':
        return sub(t, arg as string | [string, Record<string, unknown>]);
      case 'Fn::Join': {
        const [delimiter, list] = arg as [string, unknown];
        return resolveList(t, list).join(delimiter);
      }
      case 'Fn::Split': {
        const [delimiter, text] = arg as [string, unknown];
        return resolveString(t, text).split(delimiter);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number | string, unknown];
        const values = resolveList(t, list);
        if (Number(index) >= values.length) throw new Error(`Fn::Select index ${index} out of range`);
        return values[Number(index)];
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return resolve(t, condition(t, name) ? whenTrue : whenFalse);
      }
      default:
        throw new Error(`the test cannot resolve ${key}`);
    }
  }
  return Object.fromEntries(
    entries.map(([k, v]) => [k, resolve(t, v)] as const).filter(([, v]) => v !== NO_VALUE),
  );
}

function resolveString(t: Template, node: unknown): string {
  const value = resolve(t, node);
  if (typeof value !== 'string') throw new Error(`not a string: ${JSON.stringify(node)}`);
  return value;
}

function resolveList(t: Template, node: unknown): string[] {
  const value = resolve(t, node);
  if (!Array.isArray(value)) throw new Error(`not a list: ${JSON.stringify(node)}`);
  return value.map((v) => resolveString(t, v));
}

function ref(t: Template, name: string): string | typeof NO_VALUE {
  if (name === 'AWS::NoValue') return NO_VALUE;
  const pseudo = FAKE_PSEUDO_PARAMETERS[name];
  if (pseudo !== undefined) return pseudo;
  const parameter = t.Parameters?.[name];
  if (parameter) {
    if (parameter.Default === undefined) throw new Error(`parameter ${name} has no default`);
    return parameter.Default;
  }
  if (t.Resources[name]) return `ref:${name}`;
  throw new Error(`Ref to unknown ${name}`);
}

function sub(t: Template, arg: string | [string, Record<string, unknown>]): string {
  const [text, variables]: [string, Record<string, unknown>] = typeof arg === 'string' ? [arg, {}] : arg;
  return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in variables) return resolveString(t, variables[name]);
    if (name.includes('.')) return name;
    return resolveString(t, { Ref: name });
  });
}

function condition(t: Template, name: string): boolean {
  const definition = t.Conditions?.[name];
  if (definition === undefined) throw new Error(`no condition ${name}`);
  return evaluateCondition(t, definition);
}

function evaluateCondition(t: Template, node: unknown): boolean {
  const [[key, arg]] = Object.entries(node as Record<string, unknown>) as [[string, unknown]];
  const args = arg as unknown[];
  switch (key) {
    case 'Fn::Equals':
      return resolveString(t, args[0]) === resolveString(t, args[1]);
    case 'Fn::Not':
      return !evaluateCondition(t, args[0]);
    case 'Fn::And':
      return args.every((c) => evaluateCondition(t, c));
    case 'Fn::Or':
      return args.some((c) => evaluateCondition(t, c));
    case 'Condition':
      return condition(t, arg as string);
    default:
      throw new Error(`the test cannot evaluate condition ${key}`);
  }
}

/** The resolved resources of every statement of a role that allows this action. */
function resolvedResourcesAllowing(roleId: string, action: string, t: Template): string[] {
  return roleStatements(roleId, t)
    .filter((s) => allowsAction(s, action))
    .flatMap((s) => ([] as unknown[]).concat(resolve(t, s.Resource)).map((r) => resolveString(t, r)));
}

function streamArn(name: string): string {
  return `arn:aws:kinesis:eu-west-1:123456789012:stream/${name}`;
}

interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
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

/** A state machine's definition and the values the plugin substituted for its intrinsic functions. */
function definitionOf([, stateMachine]: [string, Resource]): {
  asl: { StartAt: string; States: Record<string, AslState> };
  substitutions: Record<string, unknown>;
} {
  const [text, substitutions] = (
    stateMachine.Properties!.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] }
  )['Fn::Sub'];
  return { asl: JSON.parse(text) as { StartAt: string; States: Record<string, AslState> }, substitutions };
}

/** The substituted value of a "${placeholder}" of the definition. */
function substituted(value: unknown, substitutions: Record<string, unknown>): unknown {
  const placeholder = /^\$\{(.+)\}$/.exec(typeof value === 'string' ? value : '')?.[1];
  return placeholder === undefined ? undefined : substitutions[placeholder];
}

/**
 * A value of the definition as the deployed state machine sees it: the plugin's "${placeholder}"
 * replaced by its substitution, and the definition's own Fn::Sub (the DefinitionString is one)
 * applied - in partition aws of the fake pseudo parameters.
 */
function deployed(value: unknown, substitutions: Record<string, unknown>, t: Template = template): unknown {
  const replaced = substituted(value, substitutions);
  if (replaced !== undefined) return resolve(t, replaced);
  if (typeof value === 'string') return sub(t, value);
  if (Array.isArray(value)) return value.map((v) => deployed(v, substitutions, t));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deployed(v, substitutions, t)]));
}

/** Tasks that run a nested state machine execution (arn:aws:states:::states:startExecution...). */
function isNestedExecution(task: AslState, substitutions: Record<string, unknown>): boolean {
  return /^arn:aws:states:::states:startExecution/.test(String(deployed(task.Resource, substitutions)));
}

/** The Lambda function (logical id) of each Lambda Task, by state name. */
function lambdaTasks(stateMachine: [string, Resource]): Map<string, string | undefined> {
  const { asl, substitutions } = definitionOf(stateMachine);
  return new Map(
    [...allStates(asl.States)]
      .filter(([, s]) => s.Type === 'Task' && !isNestedExecution(s, substitutions))
      .map(([name, s]) => [name, getAttTarget(substituted(s.Resource, substitutions))]),
  );
}

/** The StateMachineArn of each nested-execution Task, by state name. */
function nestedExecutionTasks(stateMachine: [string, Resource]): Map<string, unknown> {
  const { asl, substitutions } = definitionOf(stateMachine);
  return new Map(
    [...allStates(asl.States)]
      .filter(([, s]) => s.Type === 'Task' && isNestedExecution(s, substitutions))
      .map(([name, s]) => [name, substituted(s.Parameters?.StateMachineArn, substitutions)]),
  );
}

/** IAM resource matching: "*" is any run of characters, "?" any one; case-sensitive. */
function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .split(/([*?])/)
    .map((part) => (part === '*' ? '.*' : part === '?' ? '.' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`).test(arn);
}

function resolvedArns(t: Template, value: unknown): string[] {
  return ([] as unknown[]).concat(resolve(t, value ?? [])).map((r) => resolveString(t, r));
}

/**
 * Would IAM allow the role this action on this (resolved) resource: some Allow statement covers
 * it and no Deny statement (Resource or NotResource) of the role takes it away.
 */
function roleAllows(roleId: string, action: string, arn: string, t: Template = template): boolean {
  const statements = roleStatements(roleId, t).filter((s) => actions(s).some((a) => actionCovers(a, action)));
  const covers = (s: Statement) => resolvedArns(t, s.Resource).some((r) => arnMatches(r, arn));
  const denied = statements.some(
    (s) =>
      s.Effect === 'Deny' &&
      (s.Resource !== undefined
        ? covers(s)
        : !resolvedArns(t, s.NotResource).some((r) => arnMatches(r, arn))),
  );
  return !denied && statements.some((s) => s.Effect === 'Allow' && covers(s));
}

function executionArn(name: string): string {
  return `arn:aws:states:eu-west-1:123456789012:execution:${name}`;
}

function objectArn(key: string): string {
  return `ArchiveBucket.Arn/${key}`;
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
        'ListShards',
        'ArchiveShards',
        'ArchiveShard',
        'SummarizeArchive',
      ]) {
        expect(states.has(name)).toBe(true);
      }
      expect(states.get('ArchiveShards')?.ItemProcessor?.ProcessorConfig?.Mode).toBe('DISTRIBUTED');
    });

    it('when ApplyRetention is read, then it runs right after DiscoverStreams and any failure continues to ListShards', () => {
      const [, stateMachine] = archiveStateMachine();
      const [text] = (stateMachine.Properties!.DefinitionString as { 'Fn::Sub': [string, unknown] })[
        'Fn::Sub'
      ];
      const states = (
        JSON.parse(text) as {
          States: Record<string, { Next?: string; ResultPath?: string; Catch?: Record<string, unknown>[] }>;
        }
      ).States;

      expect(states.DiscoverStreams!.Next).toBe('ApplyRetention');
      expect(states.ApplyRetention!.Next).toBe('ListShards');
      expect(states.ApplyRetention!.ResultPath).toBe('$.retention');
      expect(states.ApplyRetention!.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.retention', Next: 'ListShards' },
      ]);
    });

    it('when its task resources are resolved, then each Lambda task is one of the twelve functions, and each is used', () => {
      const targets = [...lambdaTasks(archiveStateMachine()).values()];

      expect(targets.length).toBeGreaterThanOrEqual(12);
      expect(new Set(targets)).toEqual(new Set(FUNCTIONS.map(lambdaLogicalId)));
    });

    it('when its nested executions are resolved (LATEST snapshots), then each runs the compact state machine', () => {
      for (const [name, arn] of nestedExecutionTasks(archiveStateMachine())) {
        expect({ name, arn }).toEqual({ name, arn: { Ref: compactStateMachine()[0] } });
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

  describe('given the replay state machine', () => {
    it('when its definition is read, then it has the replay states and a Distributed Map', () => {
      const [, stateMachine] = replayStateMachine();
      const [text] = (stateMachine.Properties!.DefinitionString as { 'Fn::Sub': [string, unknown] })[
        'Fn::Sub'
      ];
      const asl = JSON.parse(text) as { StartAt: string; States: Record<string, AslState> };
      const states = allStates(asl.States);

      expect(asl.StartAt).toBe('ValidateReplay');
      for (const name of ['ValidateReplay', 'PlanReplay', 'ReplayItems', 'ReplayItem', 'SummarizeReplay']) {
        expect(states.has(name)).toBe(true);
      }
      expect(states.get('ReplayItems')?.ItemProcessor?.ProcessorConfig?.Mode).toBe('DISTRIBUTED');
    });

    it('when its task resources are resolved, then each Lambda task is a replay function, and each is used', () => {
      const targets = [...lambdaTasks(replayStateMachine()).values()];

      expect(new Set(targets)).toEqual(new Set(REPLAY_FUNCTIONS.map(lambdaLogicalId)));
    });

    it('when its nested executions are resolved, then CompactForReplay runs the compact state machine', () => {
      expect(Object.fromEntries(nestedExecutionTasks(replayStateMachine()))).toEqual({
        CompactForReplay: { Ref: compactStateMachine()[0] },
      });
    });

    it('when the schedules are read, then none starts it (replays are started on demand)', () => {
      const [stateMachineId] = replayStateMachine();
      const rules = resourcesOfType('AWS::Events::Rule').map(([, r]) => r.Properties!);

      expect(JSON.stringify(rules)).not.toContain(`"${stateMachineId}"`);
    });

    it('when its role is read, then it can start (and describe, stop) child executions of itself', () => {
      const [, stateMachine] = replayStateMachine();
      const roleId = getAttTarget(stateMachine.Properties!.RoleArn)!;
      const statements = roleStatements(roleId).filter((s) => s.Effect === 'Allow');
      const allows = (action: string, suffix: string) =>
        statements.some((s) => actions(s).includes(action) && resourcesOf(s).some((r) => r.endsWith(suffix)));

      expect(roleId).not.toBe(getAttTarget(archiveStateMachine()[1].Properties!.RoleArn));
      expect(allows('states:StartExecution', `:stateMachine:${REPLAY_STATE_MACHINE_NAME}`)).toBe(true);
      expect(allows('states:DescribeExecution', `:execution:${REPLAY_STATE_MACHINE_NAME}/*`)).toBe(true);
      expect(allows('states:StopExecution', `:execution:${REPLAY_STATE_MACHINE_NAME}/*`)).toBe(true);
      expect(allowedActions(roleId).has('lambda:InvokeFunction')).toBe(true);
      expect(allowedActions(roleId).has('kinesis:PutRecords')).toBe(false);
    });

    it('when its logging is read, then errors go to its own log group', () => {
      const [, stateMachine] = replayStateMachine();
      const logging = stateMachine.Properties!.LoggingConfiguration as {
        Level: string;
        Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
      };

      expect(logging.Level).toBe('ERROR');
      expect(getAttTarget(logging.Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn)).toBe(
        'ReplayStateMachineLogGroup',
      );
      expect(props('ReplayStateMachineLogGroup').LogGroupName).toBe(
        `/aws/vendedlogs/states/${REPLAY_STATE_MACHINE_NAME}`,
      );
    });

    it('when the CLI looks it up, then `replay` names it and ReplayStateMachineArn is its output', () => {
      const [stateMachineId] = replayStateMachine();
      const config = stepFunctionsConfig.stateMachines.replay;

      // sls invoke stepf --name replay reads the output named {id}Arn (serverless-step-functions).
      expect(config?.id).toBe(stateMachineId);
      expect(config?.name).toBe(REPLAY_STATE_MACHINE_NAME);
      expect(template.Outputs?.ReplayStateMachineArn?.Value).toEqual({ Ref: stateMachineId });
      expect(template.Outputs?.[`${config!.id!}Arn`]?.Value).toEqual({ Ref: stateMachineId });
    });
  });

  describe('given the compact state machine', () => {
    it('when its definition is read, then it has a planning step and two Distributed Maps (partition, merge)', () => {
      const { asl } = definitionOf(compactStateMachine());
      const states = allStates(asl.States);
      const phase = (name: string) => states.get(name)?.ItemProcessor;

      expect(asl.StartAt).toBe('PlanCompaction');
      for (const name of [
        'PlanCompaction',
        'PartitionPhase',
        'CompactChunk',
        'MergePhase',
        'MergePartition',
        'FinishCompaction',
      ]) {
        expect(states.has(name)).toBe(true);
      }
      expect(phase('PartitionPhase')?.ProcessorConfig?.Mode).toBe('DISTRIBUTED');
      expect(Object.keys(phase('PartitionPhase')?.States ?? {})).toContain('CompactChunk');
      expect(phase('MergePhase')?.ProcessorConfig?.Mode).toBe('DISTRIBUTED');
      expect(Object.keys(phase('MergePhase')?.States ?? {})).toContain('MergePartition');
    });

    it('when its task resources are resolved, then each task runs its compaction function', () => {
      expect(Object.fromEntries(lambdaTasks(compactStateMachine()))).toEqual({
        PlanCompaction: lambdaLogicalId('planCompaction'),
        CompactChunk: lambdaLogicalId('compactPartition'),
        MergePartition: lambdaLogicalId('compactMerge'),
        FinishCompaction: lambdaLogicalId('finishCompaction'),
      });
      expect(nestedExecutionTasks(compactStateMachine()).size).toBe(0);
    });

    it('when the schedules are read, then none starts it (compactions are started on demand or nested)', () => {
      const [stateMachineId] = compactStateMachine();
      const rules = resourcesOfType('AWS::Events::Rule').map(([, r]) => r.Properties!);

      expect(JSON.stringify(rules)).not.toContain(`"${stateMachineId}"`);
    });

    it('when its role is read, then it invokes the four functions and starts (describes, stops) only its own child executions', () => {
      const roleId = stateMachineRole(compactStateMachine());
      const invoked = roleStatements(roleId)
        .filter((s) => allowsAction(s, 'lambda:InvokeFunction'))
        .flatMap((s) => ([] as unknown[]).concat(s.Resource))
        .map((r) => getAttTarget(r))
        .filter((id) => id !== undefined);
      const started = roleStatements(roleId)
        .filter((s) => allowsAction(s, 'states:StartExecution'))
        .flatMap((s) => resolvedArns(template, s.Resource));

      expect(new Set(invoked)).toEqual(new Set(COMPACT_FUNCTIONS.map(lambdaLogicalId)));
      expect(started).toEqual([
        `arn:aws:states:eu-west-1:123456789012:stateMachine:${COMPACT_STATE_MACHINE_NAME}`,
      ]);
      for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
        expect(roleAllows(roleId, action, executionArn(`${COMPACT_STATE_MACHINE_NAME}/MergePhase:1`))).toBe(
          true,
        );
        expect(roleAllows(roleId, action, executionArn(`${REPLAY_STATE_MACHINE_NAME}:run-1`))).toBe(false);
      }
      expect(
        new Set([stateMachineRole(archiveStateMachine()), stateMachineRole(replayStateMachine())]),
      ).not.toContain(roleId);
    });

    it('when its logging is read, then errors go to its own log group', () => {
      const [, stateMachine] = compactStateMachine();
      const logging = stateMachine.Properties!.LoggingConfiguration as {
        Level: string;
        IncludeExecutionData: boolean;
        Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
      };

      expect(logging.Level).toBe('ERROR');
      expect(logging.IncludeExecutionData).toBe(false);
      expect(getAttTarget(logging.Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn)).toBe(
        'CompactStateMachineLogGroup',
      );
      expect(props('CompactStateMachineLogGroup').LogGroupName).toBe(
        `/aws/vendedlogs/states/${COMPACT_STATE_MACHINE_NAME}`,
      );
    });

    it('when the CLI looks it up, then `compact` names it and CompactStateMachineArn is its output', () => {
      const [stateMachineId] = compactStateMachine();
      const config = stepFunctionsConfig.stateMachines.compact;

      expect(stateMachineId).toBe('CompactStateMachine');
      expect(config?.id).toBe(stateMachineId);
      expect(config?.name).toBe(COMPACT_STATE_MACHINE_NAME);
      expect(template.Outputs?.CompactStateMachineArn?.Value).toEqual({ Ref: stateMachineId });
    });
  });

  describe('given the nested compact executions (CompactForReplay, CompactSnapshot)', () => {
    const callers = () => [archiveStateMachine(), replayStateMachine()];
    const COMPACT_EXECUTION = executionArn(`${COMPACT_STATE_MACHINE_NAME}:replay-1-compact`);
    const STEP_FUNCTIONS_RULE =
      'arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule';

    it('when the replay and archive roles are read, then each may start itself (its Distributed Map) and the compact state machine it nests, nothing else', () => {
      for (const stateMachine of callers()) {
        const name = stateMachine[1].Properties!.StateMachineName as string;
        const nested = new Set([...nestedExecutionTasks(stateMachine).values()].map(arnText));
        const started = roleStatements(stateMachineRole(stateMachine))
          .filter((s) => allowsAction(s, 'states:StartExecution'))
          .flatMap(resourcesOf);

        expect({ name, started: started.sort() }).toEqual({
          name,
          started: [
            `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${name}`,
            ...nested,
          ].sort(),
        });
      }
      // The replay state machine nests it today; the archive one once its LATEST snapshots do.
      expect(nestedExecutionTasks(replayStateMachine()).size).toBeGreaterThan(0);
    });

    it('when .sync waits for a compact execution, then the caller may describe and stop it, and no execution of another state machine', () => {
      for (const stateMachine of callers()) {
        const name = stateMachine[1].Properties!.StateMachineName as string;
        const roleId = stateMachineRole(stateMachine);
        const other = name === STATE_MACHINE_NAME ? REPLAY_STATE_MACHINE_NAME : STATE_MACHINE_NAME;

        for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
          const allows = (arn: string) => ({ name, action, arn, allowed: roleAllows(roleId, action, arn) });

          const own = executionArn(`${name}/Map:1`);

          if (nestedExecutionTasks(stateMachine).size > 0) {
            expect(allows(COMPACT_EXECUTION)).toEqual({
              name,
              action,
              arn: COMPACT_EXECUTION,
              allowed: true,
            });
          }
          expect(allows(own)).toEqual({ name, action, arn: own, allowed: true });
          for (const arn of [
            executionArn(`${other}:run-1`),
            executionArn(`${COMPACT_STATE_MACHINE_NAME}/MergePhase:1`),
            executionArn(`${COMPACT_STATE_MACHINE_NAME}-other:run-1`),
            executionArn('someone-elses-state-machine:run-1'),
          ]) {
            expect(allows(arn)).toEqual({ name, action, arn, allowed: false });
          }
        }
      }
    });

    it('when .sync waits for a compact execution, then the caller may manage the Step Functions EventBridge rule only', () => {
      for (const stateMachine of callers()) {
        if (nestedExecutionTasks(stateMachine).size === 0) continue;
        const roleId = stateMachineRole(stateMachine);

        for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
          const resources = roleStatements(roleId)
            .filter((s) => allowsAction(s, action))
            .flatMap((s) => resolvedArns(template, s.Resource));

          expect({ action, resources }).toEqual({ action, resources: [STEP_FUNCTIONS_RULE] });
        }
      }
    });

    it('when the roles are created, then each state machine waits for the guard that narrows its executions', () => {
      for (const [stateMachineId, stateMachine] of callers()) {
        const guards = resourcesOfType('AWS::IAM::Policy').filter(([, p]) =>
          (p.Properties!.Roles as { Ref?: string }[]).some(
            (r) => r.Ref === stateMachineRole([stateMachineId, stateMachine]),
          ),
        );

        expect(guards).toHaveLength(1);
        expect(stateMachine.DependsOn).toContain(guards[0]![0]);
      }
    });
  });

  describe('given the twelve archive, six replay, four compaction and four query window functions', () => {
    it('when their definitions are read, then each runs on nodejs22.x with the reservoir environment', () => {
      const functions = resourcesOfType('AWS::Lambda::Function');

      expect(functions.map(([id]) => id).sort()).toEqual(ALL_FUNCTIONS.map(lambdaLogicalId).sort());
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

    it('when their artifacts are read, then each is an esbuild bundle of its handler (no node_modules but DuckDB where Parquet is read or written)', () => {
      for (const name of ALL_FUNCTIONS) {
        const handler = props(lambdaLogicalId(name)).Handler as string;
        const zip = readFileSync(join(root, '.serverless', `${name}.zip`));

        expect(zip.includes(`${handler.replace(/\.handler$/, '')}.js`)).toBe(true);
        // DuckDB is a native addon, installed beside the bundle of the functions that read or write
        // Parquet (test/package/columnar-bundle.test.ts).
        if (!DUCKDB_FUNCTIONS.includes(name)) expect(zip.includes('node_modules/')).toBe(false);
      }
    });

    it('when their roles are read, then each has its own role, trusted by Lambda, with no managed policy but X-Ray writes', () => {
      const roles = ALL_FUNCTIONS.map((name) => roleOfFunction(name));

      expect(new Set(roles).size).toBe(ALL_FUNCTIONS.length);
      for (const roleId of roles) {
        expect(resource(roleId).Type).toBe('AWS::IAM::Role');
        // AWSXRayDaemonWriteAccess: trace writes only (provider.tracing), actions without resources.
        expect(props(roleId).ManagedPolicyArns).toEqual([
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess' },
        ]);
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

    it('when enhanced fan-out is authorized, then planShards registers and describes, and archiveShard subscribes as, only the consumer reservoir-<stage>', () => {
      const STREAMS = 'arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*';
      // The stage is resolved when packaging (the template is packaged with --stage dev).
      const consumer = `${STREAMS}/consumer/reservoir-dev:*`;
      const fanOut = [
        'kinesis:RegisterStreamConsumer',
        'kinesis:ListStreamConsumers',
        'kinesis:DescribeStreamConsumer',
        'kinesis:SubscribeToShard',
        'kinesis:DeregisterStreamConsumer',
      ];
      const grantsOf = (name: string) =>
        Object.fromEntries(
          fanOut
            .map((action): [string, string[]] => [
              action,
              roleStatements(roleOfFunction(name))
                .filter((s) => allowsAction(s, action))
                .flatMap(resourcesOf)
                .sort(),
            ])
            .filter(([, resources]) => resources.length > 0),
        );

      expect(grantsOf('planShards')).toEqual({
        // It acts on the stream (the consumer does not exist yet when it is registered).
        'kinesis:RegisterStreamConsumer': [STREAMS],
        'kinesis:DescribeStreamConsumer': [consumer],
      });
      expect(grantsOf('archiveShard')).toEqual({ 'kinesis:SubscribeToShard': [consumer] });
      for (const name of FUNCTIONS.filter((n) => n !== 'planShards' && n !== 'archiveShard'))
        expect({ name, grants: grantsOf(name) }).toEqual({ name, grants: {} });
    });

    it('when the archive functions are authorized, then none of them can put records', () => {
      for (const name of FUNCTIONS) {
        const statements = roleStatements(roleOfFunction(name));

        expect(statements.some((s) => allowsAction(s, 'kinesis:PutRecords'))).toBe(false);
        expect(statements.some((s) => allowsAction(s, 'kinesis:PutRecord'))).toBe(false);
      }
    });

    it('when discoverStreams is authorized, then it lists streams and tags and cannot write to S3', () => {
      const allowed = allowedActions(roleOfFunction('discoverStreams'));

      expect(allowed.has('kinesis:ListStreams')).toBe(true);
      expect(allowed.has('kinesis:ListTagsForStream')).toBe(true);
      expect(allowed.has('kinesis:DescribeStreamSummary')).toBe(true);
      expect(allowed.has('s3:PutObject')).toBe(false);
    });

    it('when applyRetention is authorized, then it may only read and write the bucket’s lifecycle configuration', () => {
      const statements = roleStatements(roleOfFunction('applyRetention')).filter(
        (s) => !actions(s).every((a) => a.startsWith('logs:')),
      );

      expect(statements).toHaveLength(1);
      expect(statements[0]!.Effect).toBe('Allow');
      expect(actions(statements[0]!).sort()).toEqual([
        's3:GetLifecycleConfiguration',
        's3:PutLifecycleConfiguration',
      ]);
      expect(statements[0]!.Resource).toEqual({ 'Fn::GetAtt': ['ArchiveBucket', 'Arn'] });
      expect(statements[0]!.Condition).toBeUndefined();
    });

    it('when lifecycle configurations are authorized, then only applyRetention may change them', () => {
      const changers = allStatements().filter((s) => allowsAction(s, 's3:PutLifecycleConfiguration'));

      expect(changers).toHaveLength(1);
      expect(roleStatements(roleOfFunction('applyRetention'))).toContain(changers[0]);
    });

    it('when archiveShard tags drained checkpoints, then it may tag checkpoints only', () => {
      const tagging = roleStatements(roleOfFunction('archiveShard')).filter((s) =>
        allowsAction(s, 's3:PutObjectTagging'),
      );

      expect(tagging.flatMap(resourcesOf)).toEqual(['${ArchiveBucket.Arn}/${ArchivePrefix}checkpoints/*']);
    });

    it('when convertHour tags converted JSONL, then it may tag archive objects only, and no other action is granted by that statement', () => {
      const tagging = roleStatements(roleOfFunction('convertHour')).filter((s) =>
        allowsAction(s, 's3:PutObjectTagging'),
      );

      expect(tagging.map((s) => ({ actions: actions(s), resources: resourcesOf(s) }))).toEqual([
        { actions: ['s3:PutObjectTagging'], resources: ['${ArchiveBucket.Arn}/${ArchivePrefix}archive/*'] },
      ]);
    });

    it('when any function may tag objects, then it is archiveShard (drained checkpoints) or convertHour (converted JSONL)', () => {
      const taggers = ALL_FUNCTIONS.filter((name) =>
        roleStatements(roleOfFunction(name)).some((s) => allowsAction(s, 's3:PutObjectTagging')),
      );

      expect([...taggers].sort()).toEqual(['archiveShard', 'convertHour']);
    });

    it('when any function is authorized, then it may write only its own log group', () => {
      for (const name of ALL_FUNCTIONS) {
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

  describe('given the six replay functions', () => {
    const RUN_FILES = '${ArchiveBucket.Arn}/${ArchivePrefix}runs/replay/*';

    it('when their definitions are read, then each runs its handler with the replay targets', () => {
      for (const name of REPLAY_FUNCTIONS) {
        const fn = props(lambdaLogicalId(name));
        const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

        expect(fn.Handler).toBe(`src/handlers/${kebab}.handler`);
        expect(fn.Runtime).toBe('nodejs22.x');
        expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toEqual(
          expect.objectContaining({ RESERVOIR_REPLAY_TARGETS: { Ref: 'ReplayTargets' } }),
        );
      }
      for (const name of ['planReplay', 'replayItem']) {
        expect(props(lambdaLogicalId(name))).toEqual(
          expect.objectContaining({ Timeout: 900, MemorySize: 1024 }),
        );
      }
    });

    it('when their roles are read, then each allows exactly the actions of its step', () => {
      const expected: Record<(typeof REPLAY_FUNCTIONS)[number], string[]> = {
        validateReplay: [
          'kinesis:DescribeStreamSummary',
          'kinesis:ListTagsForStream',
          's3:GetObject',
          's3:PutObject',
          's3:ListBucket',
        ],
        planReplay: ['kinesis:ListShards', 's3:GetObject', 's3:PutObject', 's3:ListBucket'],
        loadReplayPage: ['s3:GetObject'],
        replayItem: [
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
          'kinesis:PutRecords',
          'kinesis:PutRecord',
          's3:GetObject',
          's3:PutObject',
          's3:ListBucket',
        ],
        recordReplayFailure: ['s3:PutObject'],
        summarizeReplay: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
      };

      for (const name of REPLAY_FUNCTIONS) {
        const allowed = [...allowedActions(roleOfFunction(name))].filter((a) => !a.startsWith('logs:'));

        expect({ name, actions: allowed.sort() }).toEqual({ name, actions: [...expected[name]].sort() });
      }
    });

    it('when their roles write to S3, then only the replay run files', () => {
      for (const name of REPLAY_FUNCTIONS) {
        const writes = roleStatements(roleOfFunction(name)).filter((s) => allowsAction(s, 's3:PutObject'));

        for (const statement of writes) expect(resourcesOf(statement)).toEqual([RUN_FILES]);
      }
    });

    it('when their roles read S3 objects, then only the archive, checkpoints and replay run files', () => {
      const readable = new Set([
        RUN_FILES,
        '${ArchiveBucket.Arn}/${ArchivePrefix}archive/*',
        '${ArchiveBucket.Arn}/${ArchivePrefix}checkpoints/*',
      ]);

      for (const name of REPLAY_FUNCTIONS) {
        const reads = roleStatements(roleOfFunction(name)).filter((s) => allowsAction(s, 's3:GetObject'));

        for (const statement of reads) {
          for (const arn of resourcesOf(statement)) expect(readable.has(arn)).toBe(true);
        }
      }
    });
  });

  describe('given the four compaction functions and commitSnapshot', () => {
    const BUCKET = 'ArchiveBucket.Arn';
    const STREAMS = 'arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*';
    const objects = (path: string) => `\${ArchiveBucket.Arn}/\${ArchivePrefix}${path}/*`;
    const RUNS = objects('runs/compact');
    const NAMES = [...COMPACT_FUNCTIONS, 'commitSnapshot'] as const;

    /** action -> the resources granted for it (templates of Fn::Sub, `Id.Arn` for Fn::GetAtt). */
    const grants = (name: string): Record<string, string[]> => {
      const found: Record<string, string[]> = {};
      for (const statement of roleStatements(roleOfFunction(name))) {
        if (actions(statement).every((a) => a.startsWith('logs:'))) continue;
        expect({ name, effect: statement.Effect, condition: statement.Condition }).toEqual({
          name,
          effect: 'Allow',
          condition: undefined,
        });
        const resources = ([] as unknown[])
          .concat(statement.Resource)
          .map((r) => (getAttTarget(r) ? `${getAttTarget(r)!}.Arn` : arnText(r)));
        for (const action of actions(statement)) (found[action] ??= []).push(...resources);
      }
      return Object.fromEntries(Object.entries(found).map(([a, r]) => [a, [...r].sort()]));
    };

    it('when their definitions are read, then each runs its handler, with the memory its step needs', () => {
      const expected: Record<(typeof NAMES)[number], { Timeout: number; MemorySize: number }> = {
        planCompaction: { Timeout: 900, MemorySize: 1024 },
        compactPartition: { Timeout: 900, MemorySize: 1024 },
        compactMerge: { Timeout: 900, MemorySize: 2048 },
        finishCompaction: { Timeout: 300, MemorySize: 512 },
        commitSnapshot: { Timeout: 300, MemorySize: 512 },
      };

      for (const name of NAMES) {
        const fn = props(lambdaLogicalId(name));
        const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

        expect({ name, handler: fn.Handler, timeout: fn.Timeout, memory: fn.MemorySize }).toEqual({
          name,
          handler: `src/handlers/${kebab}.handler`,
          timeout: expected[name].Timeout,
          memory: expected[name].MemorySize,
        });
      }
    });

    it('when their roles are read, then each allows exactly the actions of its step, on exactly its prefixes', () => {
      const expected: Record<(typeof NAMES)[number], Record<string, string[]>> = {
        planCompaction: {
          'kinesis:ListShards': [STREAMS],
          'kinesis:ListTagsForStream': [STREAMS],
          's3:GetObject': [objects('checkpoints'), objects('archive'), RUNS, objects('latest')],
          's3:PutObject': [RUNS],
          's3:ListBucket': [BUCKET],
        },
        compactPartition: {
          'kinesis:GetShardIterator': [STREAMS],
          'kinesis:GetRecords': [STREAMS],
          's3:GetObject': [objects('archive'), objects('latest'), RUNS],
          's3:PutObject': [RUNS],
          's3:ListBucket': [BUCKET],
        },
        compactMerge: {
          's3:GetObject': [RUNS, objects('archive'), objects('latest')],
          's3:PutObject': [RUNS, objects('compacted'), objects('latest'), objects('runs/replay')],
          's3:ListBucket': [BUCKET],
        },
        finishCompaction: {
          's3:GetObject': [RUNS],
          's3:PutObject': [RUNS],
          's3:DeleteObject': [RUNS],
          's3:ListBucket': [BUCKET],
        },
        commitSnapshot: {
          's3:GetObject': [objects('latest'), RUNS],
          's3:PutObject': [objects('latest')],
          's3:DeleteObject': [objects('latest')],
          's3:ListBucket': [BUCKET],
        },
      };

      for (const name of NAMES) {
        const want = Object.fromEntries(Object.entries(expected[name]).map(([a, r]) => [a, [...r].sort()]));

        expect({ name, grants: grants(name) }).toEqual({ name, grants: want });
      }
    });

    it('when any statement of either template allows deleting objects, then it is finishCompaction’s (run files), commitSnapshot’s (LATEST snapshots), planShards’ (an earlier stream’s checkpoints) or a query window’s (its own run files)', () => {
      const deletes = (s: Statement) =>
        s.Effect === 'Allow' &&
        actions(s).some((a) => /^s3:(\*|Delete)/i.test(a) || actionCovers(a, 's3:DeleteObject'));

      for (const t of [template, targetsTemplate]) {
        const deleters = allStatements(t).filter(deletes);
        const owner = (s: Statement) =>
          ALL_FUNCTIONS.find((name) => roleStatements(roleOfFunction(name, t), t).includes(s)) ??
          (roleStatements('QueryWindowEmrInstanceRole', t).includes(s)
            ? 'QueryWindowEmrInstanceRole'
            : 'none');

        expect(
          deleters
            .map((s) => ({ owner: owner(s), actions: actions(s), resources: resourcesOf(s) }))
            .sort((a, b) => a.owner.localeCompare(b.owner)),
        ).toEqual([
          {
            owner: 'cleanupQueryWindow',
            actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            resources: [objects('runs/query-window')],
          },
          { owner: 'commitSnapshot', actions: ['s3:DeleteObject'], resources: [objects('latest')] },
          // The previous Parquet generation, once the new manifest is written.
          {
            owner: 'convertHour',
            actions: ['s3:PutObject', 's3:DeleteObject'],
            resources: [objects('columnar')],
          },
          { owner: 'finishCompaction', actions: ['s3:DeleteObject'], resources: [RUNS] },
          // A stream deleted and created again: its earlier checkpoints are moved aside.
          {
            owner: 'planShards',
            actions: ['s3:PutObject', 's3:DeleteObject'],
            resources: [objects('checkpoints')],
          },
          // The nodes replace Drill's view files and s3a's directory markers in the window's run files.
          {
            owner: 'QueryWindowEmrInstanceRole',
            actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            resources: [objects('runs/query-window')],
          },
        ]);
      }
    });

    it('when the keys the code writes are checked against the grants, then each lies under its prefix', () => {
      const files = compactionFiles('', 'run-1');
      const allows = (name: string, action: string, key: string) =>
        roleAllows(roleOfFunction(name), action, objectArn(key));

      // A recreated stream: ListShards keeps the earlier checkpoints aside and replaces or deletes them.
      const retired = `${retiredEpochPrefix('', 'orders', '2026-11-30T12:00:00.000Z')}shardId-000000000000.json`;
      expect(allows('planShards', 's3:PutObject', retired)).toBe(true);
      expect(allows('planShards', 's3:PutObject', checkpointKey('', 'orders', 'shardId-000000000000'))).toBe(
        true,
      );
      expect(
        allows('planShards', 's3:DeleteObject', checkpointKey('', 'orders', 'shardId-000000000000')),
      ).toBe(true);
      expect(allows('planShards', 's3:DeleteObject', retired)).toBe(false);

      // Shuffle objects: written by the partition phase, read by the merge, deleted when finished.
      expect(allows('compactPartition', 's3:PutObject', files.shuffleObject(3, 1, 0))).toBe(true);
      expect(allows('compactMerge', 's3:GetObject', files.shuffleObject(3, 1, 0))).toBe(true);
      expect(allows('finishCompaction', 's3:DeleteObject', files.shuffleObject(3, 1, 0))).toBe(true);
      expect(
        allows(
          'finishCompaction',
          's3:DeleteObject',
          `${generationPrefix('', 'orders', 'run-1')}part-00000.jsonl.gz`,
        ),
      ).toBe(false);
      // Compacted replays' output, and LATEST generations and their pointer.
      expect(
        allows(
          'compactMerge',
          's3:PutObject',
          `${runPrefix('', 'replay', 'r-1')}compacted/part-00000.jsonl.gz`,
        ),
      ).toBe(true);
      expect(
        allows(
          'compactMerge',
          's3:PutObject',
          `${generationPrefix('', 'orders', 'run-1')}part-00000.jsonl.gz`,
        ),
      ).toBe(true);
      expect(allows('commitSnapshot', 's3:PutObject', snapshotPointerKey('', 'orders'))).toBe(true);
      expect(
        allows(
          'commitSnapshot',
          's3:DeleteObject',
          `${generationPrefix('', 'orders', 'run-0')}part-00000.jsonl.gz`,
        ),
      ).toBe(true);
      expect(allows('commitSnapshot', 's3:DeleteObject', files.shuffleObject(3, 1, 0))).toBe(false);
      // Never the archive itself.
      for (const name of NAMES) {
        expect(allows(name, 's3:PutObject', 'archive/stream=orders/dt=2025-01-01/hr=00/x.jsonl.gz')).toBe(
          false,
        );
        expect(allows(name, 's3:DeleteObject', 'archive/stream=orders/dt=2025-01-01/hr=00/x.jsonl.gz')).toBe(
          false,
        );
      }
    });
  });

  describe('given the latestTombstones parameter', () => {
    const environment = (name: string, t: Template) =>
      (props(lambdaLogicalId(name), t).Environment as { Variables: Record<string, unknown> }).Variables;

    it('when packaged with the defaults, then DiscoverStreams gets an empty object', () => {
      expect(environment('discoverStreams', template).RESERVOIR_TOMBSTONES).toBe('{}');
    });

    it('when packaged with latestTombstones, then DiscoverStreams gets it as compact JSON, and no other function does', () => {
      expect(environment('discoverStreams', targetsTemplate).RESERVOIR_TOMBSTONES).toBe(
        JSON.stringify(JSON.parse(TOMBSTONES)),
      );
      for (const name of ALL_FUNCTIONS.filter((n) => n !== 'discoverStreams')) {
        expect({ name, tombstones: environment(name, targetsTemplate).RESERVOIR_TOMBSTONES }).toEqual({
          name,
          tombstones: undefined,
        });
      }
    });

    it('when a tombstone pattern is malformed, then packaging fails with a message naming the parameter, stream and field', () => {
      expect(malformedTombstonesOutput).toContain(
        'parameter latestTombstones: tombstone pattern of stream "orders": field orders.data.op:',
      );
    });
  });

  describe('given the ReplayTargets parameter', () => {
    const PLACEHOLDER = streamArn('reservoir-no-replay-targets-configured');

    it(`when packaged with replayTargets=${REPLAY_TARGETS}, then replayItem may put records only there`, () => {
      const roleId = roleOfFunction('replayItem', targetsTemplate);
      const expected = [streamArn('orders'), streamArn('replica-*')];

      expect(resolvedResourcesAllowing(roleId, 'kinesis:PutRecords', targetsTemplate)).toEqual(expected);
      expect(resolvedResourcesAllowing(roleId, 'kinesis:PutRecord', targetsTemplate)).toEqual(expected);
    });

    it(`when packaged with replayTargets=${REPLAY_TARGETS}, then validateReplay describes only those streams`, () => {
      const roleId = roleOfFunction('validateReplay', targetsTemplate);

      expect(resolvedResourcesAllowing(roleId, 'kinesis:DescribeStreamSummary', targetsTemplate)).toEqual([
        streamArn('orders'),
        streamArn('replica-*'),
      ]);
    });

    it(`when packaged with replayTargets=${REPLAY_TARGETS}, then the handlers get the same list`, () => {
      for (const name of REPLAY_FUNCTIONS) {
        const variables = resolve(
          targetsTemplate,
          (props(lambdaLogicalId(name), targetsTemplate).Environment as { Variables: unknown }).Variables,
        ) as Record<string, string>;

        expect(variables.RESERVOIR_REPLAY_TARGETS).toBe(REPLAY_TARGETS);
      }
    });

    it('when any statement of either template allows putting records, then it is the one of replayItem', () => {
      for (const t of [template, targetsTemplate]) {
        const putters = allStatements(t).filter(
          (s) => allowsAction(s, 'kinesis:PutRecords') || allowsAction(s, 'kinesis:PutRecord'),
        );
        const replayItemStatements = roleStatements(roleOfFunction('replayItem', t), t);

        expect(putters).toHaveLength(1);
        expect(replayItemStatements).toContain(putters[0]);
      }
    });

    it('when packaged with the defaults (no replayTargets, no archiveStreams), then only a placeholder is granted', () => {
      const putRoleId = roleOfFunction('replayItem');
      const describeRoleId = roleOfFunction('validateReplay');

      expect(resolve(template, { Ref: 'ReplayTargets' })).toBe('');
      expect(resolvedResourcesAllowing(putRoleId, 'kinesis:PutRecords', template)).toEqual([PLACEHOLDER]);
      expect(resolvedResourcesAllowing(describeRoleId, 'kinesis:DescribeStreamSummary', template)).toEqual([
        PLACEHOLDER,
      ]);
    });

    it('when the list has 1 or 10 entries, then the grant has exactly those stream ARNs', () => {
      const roleId = roleOfFunction('replayItem');
      for (const names of [['orders'], Array.from({ length: 10 }, (_, i) => `stream-${i}`)]) {
        const t = structuredClone(template);
        t.Parameters!.ReplayTargets!.Default = names.join(',');

        expect(resolvedResourcesAllowing(roleId, 'kinesis:PutRecords', t)).toEqual(names.map(streamArn));
      }
    });

    it('when a value is checked by AllowedPattern, then only up to 10 names or patterns without spaces pass', () => {
      const pattern = new RegExp(template.Parameters!.ReplayTargets!.AllowedPattern!);
      const ten = Array.from({ length: 10 }, (_, i) => `s${i}`);

      for (const ok of ['', 'orders', REPLAY_TARGETS, 'a.b_c-D9', ten.join(',')]) {
        expect({ ok, matches: pattern.test(ok) }).toEqual({ ok, matches: true });
      }
      for (const bad of ['orders, payments', 'orders,', ',orders', 'a?b', 'a/b', [...ten, 's10'].join(',')]) {
        expect({ bad, matches: pattern.test(bad) }).toEqual({ bad, matches: false });
      }
    });
  });

  describe('given the queryWindow state machine', () => {
    const queryWindow = () => stateMachineNamed(QUERY_WINDOW_STATE_MACHINE_NAME);
    const roleId = () => stateMachineRole(queryWindow());
    const BUCKET_OBJECTS = (path: string) => `\${ArchiveBucket.Arn}/\${ArchivePrefix}${path}/*`;
    const WINDOW_FILES = BUCKET_OBJECTS('runs/query-window');
    const CLUSTERS = 'arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/*';
    const STREAMS = 'arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*';

    interface FlowState extends AslState {
      Next?: string;
      Default?: string;
      End?: boolean;
      Choices?: { Next: string }[];
      Catch?: { ErrorEquals: string[]; Next: string }[];
      Retry?: unknown[];
    }

    /** Every path from `from` to the end of the execution, as lists of state names (top-level states). */
    function pathsFrom(states: Record<string, FlowState>, from: string, seen: string[] = []): string[][] {
      if (seen.includes(from)) return [];
      const state = states[from]!;
      const next = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((c) => c.Next),
        ...(state.Catch ?? []).map((c) => c.Next),
      ].filter((n): n is string => Boolean(n));
      if (next.length === 0) return [[...seen, from]];
      return [...new Set(next)].flatMap((n) => pathsFrom(states, n, [...seen, from]));
    }

    /** action -> the resources granted for it, and the conditions of those grants. */
    const grants = (role: string) => {
      const found: Record<string, { resources: string[]; conditions: unknown[] }> = {};
      for (const statement of roleStatements(role).filter((s) => s.Effect === 'Allow')) {
        const resources = ([] as unknown[])
          .concat(statement.Resource)
          .map((r) => (getAttTarget(r) ? `${getAttTarget(r)!}.Arn` : arnText(r)));
        for (const action of actions(statement)) {
          const grant = (found[action] ??= { resources: [], conditions: [] });
          grant.resources.push(...resources);
          grant.conditions.push(statement.Condition);
        }
      }
      return found;
    };

    it('when its definition is read, then the EMR work is native service integrations around the four functions', () => {
      const { asl, substitutions } = definitionOf(queryWindow());
      const states = allStates(asl.States);
      const resourceOf = (name: string) => deployed(states.get(name)?.Resource, substitutions);

      expect(asl.StartAt).toBe('PrepareQueryWindow');
      expect(resourceOf('CreateCluster')).toBe('arn:aws:states:::elasticmapreduce:createCluster.sync');
      expect(resourceOf('CreateSecuredCluster')).toBe('arn:aws:states:::elasticmapreduce:createCluster.sync');
      for (const step of ['CreateTables', 'CreateKinesisTables', 'ConfigureDrill'])
        expect(resourceOf(step)).toBe('arn:aws:states:::elasticmapreduce:addStep.sync');
      expect(resourceOf('TerminateCluster')).toBe('arn:aws:states:::elasticmapreduce:terminateCluster.sync');
      expect(resourceOf('TerminateFoundCluster')).toBe(
        'arn:aws:states:::elasticmapreduce:terminateCluster.sync',
      );
      expect(resourceOf('WaitForClose')).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(
        getAttTarget(substituted(states.get('WaitForClose')!.Parameters!.FunctionName, substitutions)),
      ).toBe(lambdaLogicalId('storeQueryWindowToken'));
      expect(Object.fromEntries([...lambdaTasks(queryWindow())].filter(([, target]) => target))).toEqual({
        PrepareQueryWindow: lambdaLogicalId('prepareQueryWindow'),
        SnapshotLiveShard: lambdaLogicalId('snapshotLiveShard'),
        CleanupQueryWindow: lambdaLogicalId('cleanupQueryWindow'),
      });
      expect(
        (states.get('CreateCluster')!.Parameters!.Applications as { Name: string }[]).map((a) => a.Name),
      ).toEqual(['Hive', 'ZooKeeper']);
    });

    it('when every path from a started cluster is followed, then each goes through TerminateCluster', () => {
      const { asl } = definitionOf(queryWindow());
      const states = asl.States as Record<string, FlowState>;
      const afterCreate = [
        'DescribeCluster',
        'CreateTables',
        'CreateKinesisTables',
        'ConfigureDrill',
        'WaitForClose',
      ];
      const paths = afterCreate.flatMap((name) => pathsFrom(states, name));

      expect(paths.length).toBeGreaterThan(10);
      for (const path of paths)
        expect({ path, terminates: path.includes('TerminateCluster') }).toEqual({ path, terminates: true });
      // WaitForClose: closed (Next), timed out (States.Timeout) and failed (States.ALL) all
      // terminate; Closed and TimedOut are Pass states with a fixed Result (they cannot fail).
      expect(states.WaitForClose!.Next).toBe('Closed');
      expect(states.WaitForClose!.Catch!.map((c) => [c.ErrorEquals, c.Next])).toEqual([
        [['States.Timeout'], 'TimedOut'],
        [['States.ALL'], 'TerminateCluster'],
      ]);
      for (const ended of ['Closed', 'TimedOut'])
        expect(states[ended]).toMatchObject({
          Type: 'Pass',
          Result: ended === 'Closed' ? 'closed' : 'timed-out',
          ResultPath: '$.ended',
          Next: 'TerminateCluster',
        });
      expect((states.WaitForClose as { TimeoutSecondsPath?: string }).TimeoutSecondsPath).toBe(
        '$.window.timeoutSeconds',
      );
      // A failed createCluster.sync may have left a cluster: it is looked for and terminated.
      for (const create of ['CreateCluster', 'CreateSecuredCluster']) {
        expect(states[create]!.Catch).toEqual([
          expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'FindCluster' }),
        ]);
        expect(states[create]!.Retry).toBeUndefined();
      }
    });

    it('when its role is read, then it is its own, trusted by Step Functions, and EMR is scoped to the window clusters of this stage', () => {
      const role = roleId();
      const granted = grants(role);
      const tagged = (key: string) => [
        { StringEquals: { [`elasticmapreduce:${key}/reservoir-query-window`]: STAGE } },
      ];

      expect(
        new Set([
          stateMachineRole(archiveStateMachine()),
          stateMachineRole(replayStateMachine()),
          stateMachineRole(compactStateMachine()),
        ]),
      ).not.toContain(role);
      expect(JSON.stringify(props(role).AssumeRolePolicyDocument)).toContain('states.amazonaws.com');
      expect(props(role).ManagedPolicyArns).toBeUndefined();
      expect(granted['elasticmapreduce:RunJobFlow']).toEqual({
        resources: ['*'],
        conditions: tagged('RequestTag'),
      });
      for (const action of [
        'elasticmapreduce:DescribeCluster',
        'elasticmapreduce:TerminateJobFlows',
        'elasticmapreduce:AddJobFlowSteps',
        'elasticmapreduce:DescribeStep',
        'elasticmapreduce:CancelSteps',
      ])
        expect({ action, grant: granted[action] }).toEqual({
          action,
          grant: { resources: [CLUSTERS], conditions: tagged('ResourceTag') },
        });
      expect(granted['elasticmapreduce:ListClusters']!.resources).toEqual(['*']);
      expect(
        Object.keys(granted)
          .filter((a) => a.startsWith('elasticmapreduce:'))
          .sort(),
      ).toEqual([
        'elasticmapreduce:AddJobFlowSteps',
        'elasticmapreduce:CancelSteps',
        'elasticmapreduce:DescribeCluster',
        'elasticmapreduce:DescribeStep',
        'elasticmapreduce:ListClusters',
        'elasticmapreduce:RunJobFlow',
        'elasticmapreduce:TerminateJobFlows',
      ]);
      expect(granted['iam:PassRole']!.resources.sort()).toEqual([
        'QueryWindowEmrInstanceRole.Arn',
        'QueryWindowEmrServiceRole.Arn',
      ]);
      expect(granted['lambda:InvokeFunction']!.resources.sort()).toEqual(
        QUERY_WINDOW_FUNCTIONS.map((name) => `${lambdaLogicalId(name)}.Arn`).sort(),
      );
      expect(Object.keys(granted).filter((a) => /^(s3|kinesis|states):/.test(a))).toEqual([]);
    });

    it('when iam:PassRole is granted anywhere in the template, then only for the two EMR roles', () => {
      const passers = allStatements().filter((s) => allowsAction(s, 'iam:PassRole'));
      const passed = passers.flatMap((s) => ([] as unknown[]).concat(s.Resource).map((r) => getAttTarget(r)));

      expect(passers.length).toBeGreaterThan(0);
      expect(new Set(passed)).toEqual(new Set(['QueryWindowEmrServiceRole', 'QueryWindowEmrInstanceRole']));
      // EMR's service role hands the nodes' role to EC2 and nothing else.
      expect(grants('QueryWindowEmrServiceRole')['iam:PassRole']).toEqual({
        resources: ['QueryWindowEmrInstanceRole.Arn'],
        conditions: [{ StringLike: { 'iam:PassedToService': 'ec2.amazonaws.com*' } }],
      });
    });

    it('when the EMR roles are read, then the service role is EMR’s v2 policy and the nodes read the archive but write only the window’s files', () => {
      const serviceRole = props('QueryWindowEmrServiceRole');
      const instanceGrants = grants('QueryWindowEmrInstanceRole');
      const resourcesOfAction = (action: string) => instanceGrants[action]?.resources.sort();

      expect(JSON.stringify(serviceRole.AssumeRolePolicyDocument)).toContain(
        'elasticmapreduce.amazonaws.com',
      );
      expect(serviceRole.ManagedPolicyArns).toEqual([
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2' },
      ]);
      expect(JSON.stringify(props('QueryWindowEmrInstanceRole').AssumeRolePolicyDocument)).toContain(
        'ec2.amazonaws.com',
      );
      expect(props('QueryWindowEmrInstanceProfile').Roles).toEqual([{ Ref: 'QueryWindowEmrInstanceRole' }]);
      expect(resourcesOfAction('s3:GetObject')).toEqual(
        [BUCKET_OBJECTS('archive'), BUCKET_OBJECTS('columnar'), WINDOW_FILES].sort(),
      );
      expect(resourcesOfAction('s3:PutObject')).toEqual([WINDOW_FILES]);
      expect(resourcesOfAction('s3:DeleteObject')).toEqual([WINDOW_FILES]);
      expect(Object.keys(instanceGrants).sort()).toEqual(
        [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:ListBucket',
          's3:GetBucketLocation',
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:ListShards',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
        ].sort(),
      );
    });

    it('when the function roles are read, then each allows exactly the actions of its step, on exactly its prefixes', () => {
      const BUCKET = 'ArchiveBucket.Arn';
      const expected: Record<(typeof QUERY_WINDOW_FUNCTIONS)[number], Record<string, string[]>> = {
        prepareQueryWindow: {
          'kinesis:ListShards': [STREAMS],
          'kinesis:ListTagsForStream': [STREAMS],
          's3:GetObject': [BUCKET_OBJECTS('checkpoints'), BUCKET_OBJECTS('archive'), WINDOW_FILES].sort(),
          's3:PutObject': [WINDOW_FILES],
          's3:ListBucket': [BUCKET],
          // The tags of the window's subnet, VPC and security groups (AWS requires "*").
          'ec2:DescribeSubnets': ['*'],
          'ec2:DescribeVpcs': ['*'],
          'ec2:DescribeSecurityGroups': ['*'],
        },
        snapshotLiveShard: {
          'kinesis:GetShardIterator': [STREAMS],
          'kinesis:GetRecords': [STREAMS],
          's3:GetObject': [WINDOW_FILES],
          's3:PutObject': [WINDOW_FILES],
          's3:ListBucket': [BUCKET],
        },
        storeQueryWindowToken: {
          's3:GetObject': [WINDOW_FILES],
          's3:PutObject': [WINDOW_FILES],
          's3:ListBucket': [BUCKET],
          'states:SendTaskSuccess': ['*'],
        },
        cleanupQueryWindow: {
          's3:GetObject': [WINDOW_FILES],
          's3:PutObject': [WINDOW_FILES],
          's3:DeleteObject': [WINDOW_FILES],
          's3:ListBucket': [BUCKET],
        },
      };

      for (const name of QUERY_WINDOW_FUNCTIONS) {
        const granted = Object.fromEntries(
          Object.entries(grants(roleOfFunction(name)))
            .filter(([action]) => !action.startsWith('logs:'))
            .map(([action, grant]) => [action, grant.resources.sort()]),
        );

        expect({ name, granted }).toEqual({ name, granted: expected[name] });
      }
    });

    it('when prepareQueryWindow is bundled, then the bootstrap action and the Drill step ship inside it', () => {
      const bundle = readFileSync(join(root, '.serverless', 'prepareQueryWindow.zip'));
      const code = zipEntry(bundle, 'src/handlers/query-window-prepare.js').toString('utf8');

      expect(code).toContain('reservoir query window: EMR bootstrap action that installs Apache Drill');
      expect(code).toContain('reservoir query window: EMR step (command-runner.jar, master node)');
      expect(props(lambdaLogicalId('prepareQueryWindow')).Environment).toEqual({
        Variables: expect.objectContaining({
          RESERVOIR_STAGE: STAGE,
          RESERVOIR_EMR_SERVICE_ROLE: { Ref: 'QueryWindowEmrServiceRole' },
          RESERVOIR_EMR_INSTANCE_PROFILE: { Ref: 'QueryWindowEmrInstanceProfile' },
          RESERVOIR_DRILL_VERSION: '1.21.2',
          RESERVOIR_QUERY_WINDOW_MINUTES: '240',
        }),
      });
    });

    it('when the CLI looks it up, then `queryWindow` names it and QueryWindowStateMachineArn is its output', () => {
      const [stateMachineId, stateMachine] = queryWindow();
      const config = stepFunctionsConfig.stateMachines.queryWindow;
      const logging = stateMachine.Properties!.LoggingConfiguration as {
        Level: string;
        Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
      };

      // sls invoke stepf --name queryWindow reads the output named {id}Arn.
      expect(config?.id).toBe(stateMachineId);
      expect(template.Outputs?.QueryWindowStateMachineArn?.Value).toEqual({ Ref: stateMachineId });
      expect(template.Outputs?.[`${config!.id!}Arn`]?.Value).toEqual({ Ref: stateMachineId });
      expect(getAttTarget(logging.Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn)).toBe(
        'QueryWindowStateMachineLogGroup',
      );
      expect(JSON.stringify(resourcesOfType('AWS::Events::Rule').map(([, r]) => r.Properties))).not.toContain(
        `"${stateMachineId}"`,
      );
    });
  });

  describe('given every state machine (partition, Distributed Map results)', () => {
    const stateMachines = () => resourcesOfType('AWS::StepFunctions::StateMachine');
    const WORKFLOWS: Record<string, 'archive' | 'replay' | 'compact'> = {
      [STATE_MACHINE_NAME]: 'archive',
      [REPLAY_STATE_MACHINE_NAME]: 'replay',
      [COMPACT_STATE_MACHINE_NAME]: 'compact',
    };

    it('when its definition and substitutions are read, then every ARN takes its partition from AWS::Partition (cfn-lint I3042)', () => {
      for (const [id, stateMachine] of stateMachines()) {
        const text = JSON.stringify(stateMachine.Properties!.DefinitionString);
        const hardCoded = text.match(/arn:(?!\$\{AWS::Partition\})[^"\\]*/g) ?? [];

        expect({ id, hardCoded }).toEqual({ id, hardCoded: [] });
        // The ${AWS::Partition} of a plain string in the definition is CloudFormation's to fill.
        expect(Object.keys(stateMachine.Properties!.DefinitionString as object)).toEqual(['Fn::Sub']);
      }
    });

    it('when the roles grant lambda:InvokeFunction, then only on the stack’s functions (and on the startExecution integration ARN, which no function has)', () => {
      // serverless-step-functions takes a Task whose Resource is a Fn::Sub for a Lambda Task: the
      // grant it derives names the integration's ARN, which is not a function's.
      const integration = 'arn:aws:states:::states:startExecution.sync:2';
      for (const [id] of stateMachines().filter(([, r]) => getAttTarget(r.Properties!.RoleArn))) {
        const invoked = resolvedResourcesAllowing(`${id}Role`, 'lambda:InvokeFunction', template).map((arn) =>
          arn.replace(/:\*$/, ''),
        );
        const functions = new Set(ALL_FUNCTIONS.map((name) => `${lambdaLogicalId(name)}.Arn`));

        expect({ id, other: invoked.filter((arn) => !functions.has(arn) && arn !== integration) }).toEqual({
          id,
          other: [],
        });
      }
    });

    it('when its Distributed Maps are read, then each writes its children’s results to S3 under {prefix}runs/map-results/{workflow}/, not into the state', () => {
      let maps = 0;
      for (const stateMachine of stateMachines()) {
        const name = stateMachine[1].Properties!.StateMachineName as string;
        const { asl, substitutions } = definitionOf(stateMachine);
        for (const [state, definition] of allStates(asl.States)) {
          if (definition.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
          maps += 1;
          const writer = (
            definition as { ResultWriter?: { Resource: string; Parameters: Record<string, unknown> } }
          ).ResultWriter;

          expect({ name, state, writer: writer && deployed(writer, substitutions) }).toEqual({
            name,
            state,
            writer: {
              Resource: 'arn:aws:states:::s3:putObject',
              Parameters: {
                Bucket: 'ref:ArchiveBucket',
                Prefix: mapResultsPrefix('', WORKFLOWS[name]!).replace(/\/$/, ''),
              },
            },
          });
        }
      }
      expect(maps).toBe(4);
    });

    it('when the roles of those state machines write to S3, then exactly what ResultWriter needs, on exactly its prefix', () => {
      // AWS's "IAM policies for using Distributed Map states": PutObject, GetObject,
      // ListMultipartUploadParts and AbortMultipartUpload on the results' prefix.
      const RESULT_WRITER = [
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:ListMultipartUploadParts',
        's3:PutObject',
      ];
      for (const stateMachine of [archiveStateMachine(), replayStateMachine(), compactStateMachine()]) {
        const name = stateMachine[1].Properties!.StateMachineName as string;
        const role = stateMachineRole(stateMachine);
        const s3 = roleStatements(role)
          .filter((st) => st.Effect === 'Allow')
          .flatMap((st) =>
            actions(st)
              .filter((a) => a.startsWith('s3:'))
              .map((action) => ({ action, st })),
          );
        const granted = Object.fromEntries(
          RESULT_WRITER.map((action) => [
            action,
            s3
              .filter((g) => g.action === action)
              .flatMap((g) => resolvedArns(template, g.st.Resource))
              .map((arn) => arn.replace('arn:aws:s3:::ref:ArchiveBucket', 'ArchiveBucket.Arn')),
          ]),
        );

        expect({ name, actions: [...new Set(s3.map((g) => g.action))].sort() }).toEqual({
          name,
          actions: RESULT_WRITER,
        });
        expect({ name, granted }).toEqual({
          name,
          granted: Object.fromEntries(
            RESULT_WRITER.map((action) => [
              action,
              [objectArn(`${mapResultsPrefix('', WORKFLOWS[name]!)}*`)],
            ]),
          ),
        });
      }
    });
  });

  describe('given every intrinsic function in the template', () => {
    it('when a Fn::Join delimiter, Fn::Split delimiter or Fn::Sub string is read, then it is a literal', () => {
      // CloudFormation allows no functions there (a ",arn:${AWS::Partition}..." delimiter stays
      // unsubstituted), which is why ReplayTargets becomes ARNs through fixed slots.
      const offending: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (node === null || typeof node !== 'object') return;
        for (const [key, arg] of Object.entries(node as Record<string, unknown>)) {
          const first: unknown = Array.isArray(arg) ? arg[0] : arg;
          if (['Fn::Join', 'Fn::Split', 'Fn::Sub'].includes(key) && typeof first !== 'string') {
            offending.push(`${key}: ${JSON.stringify(arg).slice(0, 120)}`);
          }
          walk(arg);
        }
      };
      walk([targetsTemplate.Conditions, targetsTemplate.Resources, targetsTemplate.Outputs]);

      expect(offending).toEqual([]);
    });
  });

  describe('given every policy statement in the template', () => {
    it('when the allowed actions are listed, then none is a wildcard (no "*", no "service:*")', () => {
      // Except the alarm topic key's statement for the account's root: the default key policy,
      // which hands the key's administration to IAM (without it the key would be unmanageable).
      const keyPolicy = props('AlarmTopicKey').KeyPolicy as PolicyDocument;
      const delegateToIam = keyPolicy.Statement.filter((s) => JSON.stringify(s.Principal).includes(':root'));
      expect(delegateToIam.map(actions)).toEqual([['kms:*']]);
      const allows = allStatements().filter((s) => s.Effect === 'Allow' && !delegateToIam.includes(s));

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

  describe('given the retention parameter', () => {
    type CfnRule = Record<string, unknown> & { Id?: string };
    const bucketRules = (t: Template) =>
      (props('ArchiveBucket', t).LifecycleConfiguration as { Rules: CfnRule[] }).Rules;
    const discoverEnvironment = (t: Template) =>
      (props(lambdaLogicalId('discoverStreams'), t).Environment as { Variables: Record<string, unknown> })
        .Variables;

    it('when packaged with the defaults, then the bucket has only the fixed rules and no stream is deployment-owned', () => {
      expect(bucketRules(template).map((r) => r.Id)).toEqual([
        'ExpireRunFiles',
        'ExpireAthenaResults',
        'AbortIncompleteMultipartUploads',
      ]);
      expect(discoverEnvironment(template).RESERVOIR_DEPLOYED_RETENTION_STREAMS).toBe('');
    });

    it(`when packaged with retention=${RETENTION} and jsonlDays=${JSONL_DAYS}, then the bucket has those streams' archive, columnar, converted-JSONL and drained-checkpoint rules`, () => {
      const rules = resolve(targetsTemplate, bucketRules(targetsTemplate)) as CfnRule[];
      const drained = [{ Key: 'reservoir-drained', Value: 'true' }];
      const converted = [{ Key: 'reservoir-converted', Value: 'true' }];

      expect(rules).toEqual([
        { Id: 'ExpireRunFiles', Status: 'Enabled', Prefix: 'runs/', ExpirationInDays: 7 },
        { Id: 'ExpireAthenaResults', Status: 'Enabled', Prefix: 'athena-results/', ExpirationInDays: 7 },
        {
          Id: 'AbortIncompleteMultipartUploads',
          Status: 'Enabled',
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
        {
          Id: 'reservoir-archive-orders',
          Status: 'Enabled',
          Prefix: 'archive/stream=orders/',
          ExpirationInDays: 30,
        },
        {
          Id: 'reservoir-columnar-orders',
          Status: 'Enabled',
          Prefix: 'columnar/stream=orders/',
          ExpirationInDays: 30,
        },
        {
          Id: 'reservoir-jsonl-orders',
          Status: 'Enabled',
          Prefix: 'archive/stream=orders/',
          TagFilters: converted,
          ExpirationInDays: 7,
        },
        {
          Id: 'reservoir-checkpoints-orders',
          Status: 'Enabled',
          Prefix: 'checkpoints/stream=orders/',
          TagFilters: drained,
          ExpirationInDays: 366,
        },
        {
          Id: 'reservoir-archive-payments',
          Status: 'Enabled',
          Prefix: 'archive/stream=payments/',
          ExpirationInDays: 365,
          Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
        },
        {
          Id: 'reservoir-columnar-payments',
          Status: 'Enabled',
          Prefix: 'columnar/stream=payments/',
          ExpirationInDays: 365,
          Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
        },
        {
          Id: 'reservoir-checkpoints-payments',
          Status: 'Enabled',
          Prefix: 'checkpoints/stream=payments/',
          TagFilters: drained,
          ExpirationInDays: 366,
        },
        // Only jsonlDays: the converted JSONL expires; the Parquet and checkpoints are kept.
        {
          Id: 'reservoir-jsonl-events',
          Status: 'Enabled',
          Prefix: 'archive/stream=events/',
          TagFilters: converted,
          ExpirationInDays: 3,
        },
      ]);
    });

    it('when the archive prefix is set, then the rules follow it', () => {
      const t = structuredClone(targetsTemplate);
      t.Parameters!.ArchivePrefix!.Default = 'kinesis/';
      const rules = resolve(t, bucketRules(t)) as CfnRule[];

      expect(rules.find((r) => r.Id === 'reservoir-archive-orders')!.Prefix).toBe(
        'kinesis/archive/stream=orders/',
      );
      expect(rules.find((r) => r.Id === 'reservoir-checkpoints-orders')!.Prefix).toBe(
        'kinesis/checkpoints/stream=orders/',
      );
      expect(rules.find((r) => r.Id === 'reservoir-columnar-orders')!.Prefix).toBe(
        'kinesis/columnar/stream=orders/',
      );
      expect(rules.find((r) => r.Id === 'reservoir-jsonl-events')!.Prefix).toBe(
        'kinesis/archive/stream=events/',
      );
    });

    it('when packaged with retention and jsonlDays, then DiscoverStreams leaves those streams to the stack', () => {
      expect(discoverEnvironment(targetsTemplate).RESERVOIR_DEPLOYED_RETENTION_STREAMS).toBe(
        'orders,payments,events',
      );
    });

    it('when the parameter is malformed, then packaging fails with a message naming the entry and the rule', () => {
      expect(malformedRetentionOutput).toContain(
        'parameter retention: entry "payments=365:STANDARD_IA@10": a transition to STANDARD_IA needs at least 30 days',
      );
      expect(malformedRetentionOutput).toContain('syntax: STREAM=DAYS[:STORAGE_CLASS@DAYS]');
    });
  });

  describe('given the Glue Data Catalog and the Athena workgroup', () => {
    type TableInput = {
      Name: string;
      TableType: string;
      PartitionKeys: { Name: string; Type: string }[];
      Parameters: Record<string, unknown>;
      StorageDescriptor: {
        Columns: { Name: string; Type: string }[];
        Location: unknown;
        InputFormat: string;
        SerdeInfo: { SerializationLibrary: string };
      };
    };
    const table = (name: string): TableInput => {
      const found = resourcesOfType('AWS::Glue::Table')
        .map(([, r]) => r.Properties as { DatabaseName: unknown; TableInput: TableInput })
        .find((p) => p.TableInput.Name === name);
      if (!found) throw new Error(`no Glue table ${name}`);
      expect(found.DatabaseName).toEqual({ Ref: 'GlueDatabase' });
      return found.TableInput;
    };
    // The property names Athena documents for partition projection
    // (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html and
    // partition-projection-setting-up.html): anything else would be ignored silently.
    const DOCUMENTED = [
      /^projection\.enabled$/,
      /^projection\.[a-z_]+\.type$/,
      /^projection\.[a-z_]+\.(values|range|interval|digits|format)$/,
      /^projection\.[a-z_]+\.interval\.unit$/,
      /^storage\.location\.template$/,
    ];

    it('when the database is read, then it is reservoir_<stage>, named in the stack outputs', () => {
      expect(resourcesOfType('AWS::Glue::Database')).toHaveLength(1);
      expect((props('GlueDatabase').DatabaseInput as { Name: string }).Name).toBe(`reservoir_${STAGE}`);
      expect(template.Outputs?.GlueDatabaseName?.Value).toEqual({ Ref: 'GlueDatabase' });
      expect(template.Outputs?.AthenaWorkGroupName?.Value).toEqual({ Ref: 'AthenaWorkGroup' });
    });

    it.each([
      [JSONL_TABLE, 'archive'],
      [COLUMNAR_TABLE, 'columnar'],
    ])(
      'when %s is read, then it is partitioned by stream/dt/hr with documented partition projection over {prefix}%s/',
      (name, dir) => {
        const input = table(name);
        const parameters = resolve(template, input.Parameters) as Record<string, string>;

        expect(input.TableType).toBe('EXTERNAL_TABLE');
        expect(input.PartitionKeys).toEqual([
          { Name: 'stream', Type: 'string' },
          { Name: 'dt', Type: 'string' },
          { Name: 'hr', Type: 'string' },
        ]);
        expect(resolve(template, input.StorageDescriptor.Location)).toBe(`s3://ref:ArchiveBucket/${dir}/`);
        expect(parameters).toMatchObject({
          'projection.enabled': 'true',
          'projection.stream.type': 'injected',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': expect.stringMatching(/^NOW-\d+(YEARS|MONTHS|DAYS),NOW$/),
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'projection.hr.type': 'integer',
          'projection.hr.range': '0,23',
          'projection.hr.digits': '2',
          'storage.location.template': `s3://ref:ArchiveBucket/${dir}/stream=\${stream}/dt=\${dt}/hr=\${hr}/`,
        });
        for (const property of Object.keys(parameters).filter((p) => /^(projection|storage)\./.test(p)))
          expect(DOCUMENTED.some((rule) => rule.test(property))).toBe(true);
        // Every partition column is projected, and the template names each of them.
        for (const key of input.PartitionKeys) {
          expect(parameters[`projection.${key.Name}.type`]).toBeDefined();
          expect(parameters['storage.location.template']).toContain(`\${${key.Name}}`);
        }
      },
    );

    it('when archive_jsonl is read, then it is the JSON SerDe over the record line fields (stream is the partition)', () => {
      const input = table(JSONL_TABLE);

      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
        'org.openx.data.jsonserde.JsonSerDe',
      );
      expect(input.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(
        Object.keys(RECORD_LINE_COLUMNS)
          .filter((f) => f !== 'stream')
          .map((f) => f.toLowerCase()),
      );
    });

    it('when archive_columnar is read, then it is Parquet with the records view columns and Hive types (source aside, stream the partition)', () => {
      const input = table(COLUMNAR_TABLE);

      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
        'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      );
      expect(input.StorageDescriptor.InputFormat).toBe(
        'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      );
      expect(input.StorageDescriptor.Columns).toEqual(
        RECORDS_COLUMNS.filter((c) => c.name !== 'source' && c.name !== 'stream').map((c) => ({
          Name: c.name,
          Type: c.hiveType,
        })),
      );
    });

    it('when the workgroup is read, then it enforces encrypted results under {prefix}athena-results/ and a bytes-scanned cutoff', () => {
      const workGroup = props('AthenaWorkGroup');
      const configuration = workGroup.WorkGroupConfiguration as Record<string, unknown>;

      expect(workGroup.Name).toBe(`reservoir-${STAGE}`);
      expect(configuration.EnforceWorkGroupConfiguration).toBe(true);
      expect(configuration.BytesScannedCutoffPerQuery).toBe(100_000_000_000);
      expect(resolve(template, configuration.ResultConfiguration)).toEqual({
        OutputLocation: 's3://ref:ArchiveBucket/athena-results/',
        EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
      });
    });

    it("when the roles are read, then no function may use Athena or Glue (the CLI runs with the caller's credentials)", () => {
      const granting = allStatements().filter((s) =>
        actions(s).some((a) => /^(athena|glue):/i.test(a) || a === '*'),
      );

      expect(granting).toEqual([]);
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

    it('when its lifecycle is read, then run files (failed compactions’ shuffle objects too) expire after 7 days and stale uploads are aborted', () => {
      const rules = (props('ArchiveBucket').LifecycleConfiguration as { Rules: Record<string, unknown>[] })
        .Rules;
      const runFiles = rules.find((r) => r.Id === 'ExpireRunFiles');

      expect(compactionFiles('', 'run-1').shuffleObject(0, 0, 0)).toMatch(
        new RegExp(`^${resolveString(template, runFiles?.Prefix)}`),
      );

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
