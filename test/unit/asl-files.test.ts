import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as errors from '../../src/core/errors';
import { mapResultsPrefix } from '../../src/core/layout';
import { loadLocalDefinition, STATE_MACHINES_DIR, substituteLocally } from '../../src/local/asl-definition';

/**
 * The ASL files as written (statemachines/*.asl.yml), checked against what AWS documents: the
 * partition of every ARN, the error names of every Retry and Catch, and where every Distributed
 * Map's results go.
 */

type Node = null | boolean | number | string | Node[] | { [key: string]: Node };
interface State {
  Type: string;
  Resource?: Node;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
  ResultWriter?: { Resource: string; Parameters: Record<string, Node> };
  ResultPath?: string | null;
}

const FILES = readdirSync(STATE_MACHINES_DIR).filter((f) => f.endsWith('.asl.yml'));
const raw = (file: string) =>
  parse(readFileSync(join(STATE_MACHINES_DIR, file), 'utf8'), { merge: true }) as {
    States: Record<string, State>;
  };

function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...[state.ItemProcessor, ...(state.Branches ?? [])].flatMap((b) => (b ? allStates(b.States) : [])),
  ]);
}

/** Every string of a node, with the path to it. */
function strings(node: Node, path = ''): [string, string][] {
  if (typeof node === 'string') return [[path, node]];
  if (Array.isArray(node)) return node.flatMap((n, i) => strings(n, `${path}[${i}]`));
  if (node && typeof node === 'object')
    return Object.entries(node).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

/**
 * Error names the Step Functions guide documents, besides reservoir's own: the States.* names
 * (error handling), and per integration the names its page gives - with where it says so.
 */
const STATES_ERRORS = [
  'States.ALL',
  'States.DataLimitExceeded',
  'States.ExceedToleratedFailureThreshold',
  'States.HeartbeatTimeout',
  'States.IntrinsicFailure',
  'States.ItemReaderFailed',
  'States.NoChoiceMatched',
  'States.ParameterPathFailure',
  'States.Permissions',
  'States.ResultPathMatchFailure',
  'States.ResultWriterFailed',
  'States.TaskFailed',
  'States.Timeout',
]; // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
const DOCUMENTED: { resource: RegExp; names: string[]; source: string }[] = [
  {
    // Lambda Tasks (Fn::GetAtt of a function, or lambda:invoke): the Lambda.* names of the guide's
    // "Handling transient Lambda service exceptions" (Lambda.ServiceException, ...) and Lambda.Unknown.
    resource: /^(lambda-function|arn:aws:states:::lambda:invoke(\.waitForTaskToken)?)$/,
    names: ['Lambda.*'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html',
  },
  {
    resource: /^arn:aws:states:::states:startExecution\.sync:2$/,
    names: ['StepFunctions.ExecutionLimitExceeded'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html',
  },
  {
    // AWS SDK integrations fail with {ServiceName}.{error of the service's API reference}:
    // ListClusters and DescribeCluster list InternalServerException; ThrottlingException is one
    // of EMR's common errors.
    resource: /^arn:aws:states:::aws-sdk:emr:(listClusters|describeCluster)$/,
    names: ['Emr.InternalServerException', 'Emr.ThrottlingException'],
    source:
      'https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html, ' +
      'https://docs.aws.amazon.com/emr/latest/APIReference/API_ListClusters.html, ' +
      'https://docs.aws.amazon.com/emr/latest/APIReference/CommonErrors.html',
  },
  // The optimized EMR integration (elasticmapreduce:*): its page lists no error names.
];

/** reservoir's own errors (src/core/errors.ts): Lambda reports a thrown error's name as the error. */
const OWN_ERRORS = Object.values(errors)
  .filter((value): value is typeof errors.ReservoirError => typeof value === 'function')
  .filter((value) => value.prototype instanceof errors.ReservoirError)
  .map((value) => value.name);

function allowed(resource: string, name: string): boolean {
  if (STATES_ERRORS.includes(name)) return true;
  const documented = DOCUMENTED.find((d) => d.resource.test(resource));
  if (!documented) return false;
  if (documented.names.includes('Lambda.*')) return name.startsWith('Lambda.') || OWN_ERRORS.includes(name);
  return documented.names.includes(name);
}

/** A Task's Resource, resolved as locally (partition aws); a Lambda function as `lambda-function`. */
function resourceOf(state: State): string {
  const resource = state.Resource;
  if (resource && typeof resource === 'object' && !Array.isArray(resource) && 'Fn::GetAtt' in resource)
    return 'lambda-function';
  if (
    resource &&
    typeof resource === 'object' &&
    !Array.isArray(resource) &&
    typeof resource['Fn::Sub'] === 'string'
  )
    return substituteLocally(resource['Fn::Sub']);
  return String(resource);
}

describe('statemachines/*.asl.yml', () => {
  it('has the four workflows', () => {
    expect(FILES.sort()).toEqual([
      'archive.asl.yml',
      'compact.asl.yml',
      'query-window.asl.yml',
      'replay.asl.yml',
    ]);
    expect(OWN_ERRORS).toEqual(expect.arrayContaining(['ThrottledError', 'DataGapError', 'ValidationError']));
  });

  it.each(FILES)(
    '%s: every ARN takes its partition from ${AWS::Partition} (cfn-lint I3042), which the local loader resolves to aws',
    (file) => {
      const arns = strings(raw(file) as unknown as Node).filter(([, text]) => /arn:/.test(text));
      const hardCoded = arns.filter(([, text]) => !/^arn:\$\{AWS::Partition\}:/.test(text));

      expect(hardCoded).toEqual([]);
      expect(JSON.stringify(loadLocalDefinition(file.replace('.asl.yml', '')).definition)).not.toContain(
        'AWS::',
      );
    },
  );

  it.each(FILES)(
    '%s: every Retry and Catch names only errors AWS documents for its Task (or reservoir’s own)',
    (file) => {
      const undocumented = allStates(raw(file).States).flatMap(([name, state]) => {
        const resource = state.Type === 'Task' ? resourceOf(state) : `${state.Type} state`;
        return [...(state.Retry ?? []), ...(state.Catch ?? [])]
          .flatMap((rule) => rule.ErrorEquals)
          .filter(
            (error) => !(state.Type === 'Task' ? allowed(resource, error) : STATES_ERRORS.includes(error)),
          )
          .map((error) => `${name} (${resource}): ${error}`);
      });

      expect(undocumented).toEqual([]);
    },
  );

  it.each(FILES)(
    '%s: every Distributed Map writes its children’s results to S3 under runs/map-results/, and keeps none in the state',
    (file) => {
      const workflow = file.replace('.asl.yml', '') as 'archive' | 'replay' | 'compact';
      const maps = allStates(raw(file).States).filter(
        ([, state]) => state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED',
      );

      for (const [name, state] of maps)
        expect({ name, writer: state.ResultWriter, resultPath: state.ResultPath }).toEqual({
          name,
          writer: {
            Resource: 'arn:${AWS::Partition}:states:::s3:putObject',
            Parameters: {
              Bucket: { Ref: 'ArchiveBucket' },
              Prefix: `\${ArchivePrefix}${mapResultsPrefix('', workflow).slice(0, -1)}`,
            },
          },
          resultPath: null,
        });
      expect(maps.length).toBe({ archive: 1, replay: 1, compact: 2 }[workflow as string] ?? 0);
    },
  );

  it('when a Fn::Sub has a variable other than a pseudo parameter, then the local loader refuses it', () => {
    expect(substituteLocally('arn:${AWS::Partition}:states:::s3:putObject')).toBe(
      'arn:aws:states:::s3:putObject',
    );
    expect(() => substituteLocally('${ArchiveBucket}/x')).toThrow(/ArchiveBucket/);
  });
});
