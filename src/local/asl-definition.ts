import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const STATE_MACHINES_DIR = join(__dirname, '..', '..', 'statemachines');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface LocalDefinition {
  /** The ASL with each `Fn::GetAtt: [fn, Arn]` resolved to a local Lambda ARN. */
  definition: Record<string, unknown>;
  /** Task state name → function name, across nested Map/Parallel states. */
  taskFunctions: Map<string, string>;
  /** Task state name → child state machine file, for `states:startExecution.sync:2` Tasks. */
  taskStateMachines: Map<string, string>;
  /**
   * Task state name → Resource, for the other Tasks (service integrations such as
   * `elasticmapreduce:createCluster.sync`): they run only on AWS, so a local run must override them.
   */
  taskResources: Map<string, string>;
}

/** State machines other ASL files start (`Ref: <LogicalId>` in serverless.yml), by logical id. */
export const STATE_MACHINE_FILES: Record<string, string> = { CompactStateMachine: 'compact' };

export const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

/**
 * The pseudo parameters a local run gives `Fn::Sub`. The ASL files write service integration ARNs
 * as `Fn::Sub: arn:${AWS::Partition}:states:::…` so that one template deploys to aws, aws-cn and
 * aws-us-gov (cfn-lint I3042); locally the partition is `aws`, as in the local ARNs above.
 */
export const LOCAL_PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '000000000000',
};

/** A `Fn::Sub` string with the local pseudo parameters; any other variable is an error, not a silent literal. */
export function substituteLocally(template: string): string {
  return template.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
    const value = LOCAL_PSEUDO_PARAMETERS[name];
    if (value === undefined)
      throw new Error(
        `Fn::Sub variable \${${name}} has no local value (only ${Object.keys(LOCAL_PSEUDO_PARAMETERS).join(', ')})`,
      );
    return value;
  });
}

/**
 * Step Functions reads a Task's TimeoutSecondsPath from the state's input; aws-local-stepfunctions
 * reads it from the effective input (after Parameters). Locally, a Task with both gets the value
 * through this extra Parameters field, which the runner removes before the Task sees its input.
 */
export const LOCAL_TIMEOUT_FIELD = 'reservoirLocalTimeoutSeconds';

export function localStateMachineArn(name: string): string {
  return `arn:aws:states:us-east-1:000000000000:stateMachine:reservoir-local-${name}`;
}

export function localFunctionArn(functionName: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:reservoir-local-${functionName}`;
}

/**
 * Reads statemachines/{name}.asl.yml as serverless.yml does (`${file()}`), resolving the
 * CloudFormation intrinsics the files use - `Fn::GetAtt` of a function, `Ref` of a state machine,
 * `Fn::Sub` with pseudo parameters - and nothing else.
 */
export function loadLocalDefinition(name: string): LocalDefinition {
  const raw = parse(readFileSync(join(STATE_MACHINES_DIR, `${name}.asl.yml`), 'utf8'), {
    merge: true,
  }) as Json;
  const taskFunctions = new Map<string, string>();
  const taskStateMachines = new Map<string, string>();
  const taskResources = new Map<string, string>();

  const resolve = (node: Json, stateName?: string): Json => {
    if (Array.isArray(node)) return node.map((child) => resolve(child));
    if (node === null || typeof node !== 'object') return node;
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      if (stateName) taskFunctions.set(stateName, getAtt[0]);
      return localFunctionArn(getAtt[0]);
    }
    const sub = node['Fn::Sub'];
    if (typeof sub === 'string' && Object.keys(node).length === 1) return substituteLocally(sub);
    const ref = node['Ref'];
    if (typeof ref === 'string' && STATE_MACHINE_FILES[ref]) {
      if (stateName) taskStateMachines.set(stateName, STATE_MACHINE_FILES[ref]);
      return localStateMachineArn(STATE_MACHINE_FILES[ref]);
    }
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === 'States' && value && typeof value === 'object' && !Array.isArray(value)) {
        out[key] = Object.fromEntries(
          Object.entries(value).map(([state, def]) => [state, resolveState(state, def)]),
        );
      } else {
        out[key] = resolve(value, stateName);
      }
    }
    return out;
  };
  const resolveState = (state: string, def: Json): Json => {
    if (!def || typeof def !== 'object' || Array.isArray(def)) return def;
    const out: { [key: string]: Json } = {};
    const raw = def['Resource'];
    const resource = raw === undefined ? undefined : resolve(raw);
    const nested = resource === START_EXECUTION_SYNC;
    const lambda = raw !== null && typeof raw === 'object' && 'Fn::GetAtt' in raw;
    if (def['Type'] === 'Task' && typeof resource === 'string' && !nested && !lambda)
      taskResources.set(state, resource);
    for (const [key, value] of Object.entries(def)) {
      // A Distributed Map's ResultWriter sends the children's outputs to S3 so that they do not
      // count toward the 256 KiB state limit. aws-local-stepfunctions (3.x) has no ResultWriter:
      // it ignores the field and returns the outputs in memory, where no such limit applies. It is
      // left out so that its CloudFormation references (the bucket, ${ArchivePrefix}) need no
      // local value; every Map that has one discards its result (ResultPath: null) anyway.
      if (key === 'ResultWriter' && def['Type'] === 'Map') continue;
      out[key] = resolve(value, key === 'Resource' || (nested && key === 'Parameters') ? state : undefined);
    }
    const parameters = out['Parameters'];
    if (
      def['Type'] === 'Task' &&
      typeof out['TimeoutSecondsPath'] === 'string' &&
      parameters &&
      typeof parameters === 'object' &&
      !Array.isArray(parameters)
    ) {
      out['Parameters'] = { ...parameters, [`${LOCAL_TIMEOUT_FIELD}.$`]: out['TimeoutSecondsPath'] };
      out['TimeoutSecondsPath'] = `$.${LOCAL_TIMEOUT_FIELD}`;
    }
    return out;
  };

  return {
    definition: resolve(raw) as Record<string, unknown>,
    taskFunctions,
    taskStateMachines,
    taskResources,
  };
}
