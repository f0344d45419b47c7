import { METRIC } from '../../src/telemetry/workflow-metrics';
import { ALL_PARAMETERS, packagedTemplate } from '../support/packaged-template';

/**
 * The observability part of the template `sls package` compiles (offline): X-Ray, Powertools
 * settings, log retention, the alarms and their SNS topic, and the dashboard.
 */
interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
interface Template {
  Parameters: Record<string, { Default?: unknown }>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}

const TOPIC = ALL_PARAMETERS.alarmTopicArn!;
let template: Template;
/** Every parameter set: among them alarmTopicArn and timeToLossAlarmPercent=40. */
let withTopic: Template;

beforeAll(() => {
  template = packagedTemplate<Template>();
  withTopic = packagedTemplate<Template>(ALL_PARAMETERS);
}, 600_000);

const ofType = (type: string, t: Template = template) =>
  Object.entries(t.Resources).filter(([, resource]) => resource.Type === type);
const alarm = (id: string, t: Template = template) => t.Resources[id]!.Properties;

describe('observability in the packaged template', () => {
  it('traces every function with X-Ray, and lets each role write traces', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(22);
    for (const [id, fn] of functions) {
      expect({ id, tracing: fn.Properties.TracingConfig }).toEqual({ id, tracing: { Mode: 'Active' } });
      const role = template.Resources[fn.Properties.Role['Fn::GetAtt'][0]]!;
      expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AWSXRayDaemonWriteAccess');
    }
  });

  it('traces every state machine', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(4);
    for (const [, machine] of machines)
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('gives the handlers their Powertools service per stage and the metric namespace', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'reservoir-dev',
        POWERTOOLS_METRICS_NAMESPACE: 'Reservoir',
      });
    }
  });

  it('keeps every log group for the configured retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(26);
    for (const [id, group] of groups)
      expect({ id, days: group.Properties.RetentionInDays }).toEqual({ id, days: 30 });
  });

  it('creates the SNS topic when none is given (its encryption: alarm-topic.test.ts), and every alarm notifies it', () => {
    expect(template.Resources.AlarmTopic).toMatchObject({
      Type: 'AWS::SNS::Topic',
      Condition: 'CreateAlarmTopic',
    });
    expect(template.Parameters.AlarmTopicArn!.Default).toBe('');
    expect(template.Conditions.CreateAlarmTopic).toEqual({ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] });
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(alarms.map(([id]) => id).sort()).toEqual([
      'ArchiveFailedAlarm',
      'ArchiveNotRunningAlarm',
      'CompactFailedAlarm',
      'DataGapAlarm',
      'QueryWindowFailedAlarm',
      'ReplayFailedAlarm',
      'TimeToLossAlarm',
    ]);
    for (const [, resource] of alarms) {
      expect(resource.Properties.AlarmActions).toEqual([
        { 'Fn::If': ['CreateAlarmTopic', { Ref: 'AlarmTopic' }, { Ref: 'AlarmTopicArn' }] },
      ]);
    }
  });

  it('uses the topic given as a parameter instead of creating one', () => {
    expect(withTopic.Parameters.AlarmTopicArn!.Default).toBe(TOPIC);
    expect(alarm('DataGapAlarm', withTopic).AlarmActions).toEqual([
      { 'Fn::If': ['CreateAlarmTopic', { Ref: 'AlarmTopic' }, { Ref: 'AlarmTopicArn' }] },
    ]);
    expect(withTopic.Outputs.AlarmTopicArn!.Value).toEqual({
      'Fn::If': ['CreateAlarmTopic', { Ref: 'AlarmTopic' }, { Ref: 'AlarmTopicArn' }],
    });
  });

  it('alarms on time-to-loss under 25 % of retention (a parameter), across all streams of the stage', () => {
    expect(alarm('TimeToLossAlarm')).toMatchObject({
      Namespace: 'Reservoir',
      MetricName: METRIC.timeToLossPercent,
      Dimensions: [{ Name: 'service', Value: 'reservoir-dev' }],
      Statistic: 'Minimum',
      Threshold: 25,
      ComparisonOperator: 'LessThanThreshold',
    });
    // A --param arrives as a string; CloudFormation reads a Double from it.
    expect(Number(alarm('TimeToLossAlarm', withTopic).Threshold)).toBe(40);
  });

  it('alarms on any data gap, and returns to OK once runs report none (a gap acknowledged is not reported again)', () => {
    expect(alarm('DataGapAlarm')).toMatchObject({
      Namespace: 'Reservoir',
      MetricName: METRIC.dataGaps,
      Dimensions: [{ Name: 'service', Value: 'reservoir-dev' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // Every run that still finds the gap counts it again; a 5-minute period without a count is OK.
      Period: 300,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on failed or timed-out executions of each state machine, and on an archive that stops succeeding', () => {
    const machines: Record<string, string> = {
      ArchiveFailedAlarm: 'ArchiveStateMachine',
      ReplayFailedAlarm: 'ReplayStateMachine',
      CompactFailedAlarm: 'CompactStateMachine',
      QueryWindowFailedAlarm: 'QueryWindowStateMachine',
    };
    for (const [id, machine] of Object.entries(machines)) {
      const metrics = alarm(id).Metrics as { Id: string; Expression?: string; MetricStat?: any }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(metrics[0]!.Expression).toBe('FILL(failed, 0) + FILL(timedOut, 0)');
      expect(
        metrics.slice(1).map((m) => [m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions]),
      ).toEqual([
        ['ExecutionsFailed', [{ Name: 'StateMachineArn', Value: { Ref: machine } }]],
        ['ExecutionsTimedOut', [{ Name: 'StateMachineArn', Value: { Ref: machine } }]],
      ]);
    }
    expect(alarm('ArchiveNotRunningAlarm')).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsSucceeded',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'ArchiveStateMachine' } }],
      TreatMissingData: 'breaching',
    });
  });

  it('has a dashboard with lag, time to loss, throughput, gaps, executions, replay rate, throttles and the alarms', () => {
    const body = template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string;
    const dashboard = JSON.parse(body) as {
      widgets: { type: string; properties: { title: string; metrics?: unknown[]; alarms?: string[] } }[];
    };
    const text = JSON.stringify(dashboard);
    for (const metric of [
      METRIC.archiveLagSeconds,
      METRIC.timeToLossSeconds,
      METRIC.timeToLossPercent,
      METRIC.recordsArchived,
      METRIC.bytesArchived,
      METRIC.dataGaps,
      METRIC.recordsReplayed,
      METRIC.throttledRetries,
      'ExecutionsFailed',
    ]) {
      expect(text).toContain(metric);
    }
    expect(text).toContain('service=\\"reservoir-dev\\"');
    const alarmWidget = dashboard.widgets.find((widget) => widget.type === 'alarm')!;
    const alarmNames = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName as string);
    expect(alarmWidget.properties.alarms!.map((arn) => arn.split(':alarm:')[1]).sort()).toEqual(
      alarmNames.sort(),
    );
  });
});
