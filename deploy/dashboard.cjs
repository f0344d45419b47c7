// The CloudWatch dashboard of a stage, built when serverless.yml is packaged:
//
//   DashboardBody: !Sub ${file(./deploy/dashboard.cjs):body}
//
// Per-stream graphs use SEARCH over the Stream dimension, so a stream appears as soon as it is
// archived: the dashboard never needs a redeploy for a new stream. Metric names are those of
// src/telemetry/workflow-metrics.ts (namespace Reservoir, dimensions service and Stream). The
// body keeps ${AWS::Region}, ${AWS::Partition} and ${AWS::AccountId} for !Sub.
'use strict';

const { timeToLossAlarmPercent } = require('./parameters.cjs');

const NAMESPACE = 'Reservoir';
const STATE_MACHINES = ['archive', 'replay', 'compact', 'query-window'];

/**
 * One metric math expression: a SEARCH over the Stream dimension, one line per stream. A widget's
 * `metrics` is an array of arrays; an expression is an array holding one object.
 */
function perStream(service, metric, stat) {
  const search = `SEARCH('{${NAMESPACE},Stream,service} MetricName="${metric}" service="${service}"', '${stat}', 300)`;
  const id = metric.replace(/[^a-zA-Z0-9]/g).replace(/^./, (c) => c.toLowerCase());
  return [[{ expression: search, id }]];
}

function graph(title, metrics, extra = {}) {
  return {
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', period: 300, metrics, ...extra },
  };
}

function stateMachineArn(stage, name) {
  return `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:reservoir-${name}-${stage}`;
}

function alarmArn(name) {
  return `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${name}`;
}

/** The alarm names serverless.yml gives its alarms (the dashboard shows their state). */
function alarmNames(stage) {
  return [
    `reservoir-${stage}-time-to-loss`,
    `reservoir-${stage}-data-gap`,
    `reservoir-${stage}-archive-not-running`,
    ...STATE_MACHINES.map((name) => `reservoir-${stage}-${name}-failed`),
  ];
}

function dashboard(stage, timeToLossAlarmPercent) {
  const service = `reservoir-${stage}`;
  const widgets = [
    {
      type: 'alarm',
      width: 24,
      height: 3,
      properties: { title: 'Alarms', alarms: alarmNames(stage).map(alarmArn) },
    },
    graph(
      'Archive lag per stream (s): age of the oldest record not archived yet',
      perStream(service, 'ArchiveLagSeconds', 'Maximum'),
      { stat: 'Maximum' },
    ),
    graph(
      'Time to loss per stream (s): until Kinesis deletes unarchived records',
      perStream(service, 'TimeToLossSeconds', 'Minimum'),
      { stat: 'Minimum' },
    ),
    graph(
      'Time to loss, % of retention (alarm below the line)',
      perStream(service, 'TimeToLossPercent', 'Minimum'),
      {
        stat: 'Minimum',
        yAxis: { left: { min: 0, max: 100 } },
        annotations: { horizontal: [{ label: 'alarm', value: timeToLossAlarmPercent }] },
      },
    ),
    graph('Records archived per stream', perStream(service, 'RecordsArchived', 'Sum'), { stat: 'Sum' }),
    graph('Bytes archived per stream (gzip)', perStream(service, 'BytesArchived', 'Sum'), {
      stat: 'Sum',
    }),
    graph('Data gaps per stream', perStream(service, 'DataGaps', 'Sum'), { stat: 'Sum' }),
    // Gauges each archive run publishes: shards whose gap nobody acknowledged (they fail every
    // run), and gaps acknowledged (the ledger): those stay on the dashboard after the alarm clears.
    graph(
      'Data gaps per stream: shards with an open gap, gaps acknowledged (each archive run)',
      [
        ...perStream(service, 'OpenDataGaps', 'Maximum'),
        ...perStream(service, 'AcknowledgedDataGaps', 'Maximum'),
      ],
      { stat: 'Maximum' },
    ),
    {
      type: 'text',
      width: 12,
      height: 6,
      properties: {
        markdown: [
          '### Data gaps',
          'Records Kinesis deleted before they were archived. A shard with an **open** gap fails every',
          'archive run (DataGapError, the data-gap alarm) and its children wait, until someone acknowledges it:',
          '',
          '* `reservoir gaps --stage ' +
            stage +
            '` lists open and acknowledged gaps (missing range, first detected, last seen)',
          '* `reservoir gaps acknowledge --stage ' +
            stage +
            ' --stream S --shard ID --note TEXT` records the gap in the',
          '  ledger (`gaps/stream=S/ID/FROM-TO.json` under the archive prefix) and archiving goes on from the oldest record left',
          '',
          'Acknowledged gaps stay listed by `reservoir gaps` and `reservoir status`, and counted in the graph beside.',
        ].join('\n'),
      },
    },
    graph('Records replayed per target stream', perStream(service, 'RecordsReplayed', 'Sum'), {
      stat: 'Sum',
    }),
    graph('Replay throttled retries per target stream', perStream(service, 'ThrottledRetries', 'Sum'), {
      stat: 'Sum',
    }),
    graph('Compaction: records read per stream', perStream(service, 'CompactionRecords', 'Sum'), {
      stat: 'Sum',
    }),
    graph(
      'Executions failed, timed out or aborted',
      STATE_MACHINES.flatMap((name) =>
        ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((metric) => [
          'AWS/States',
          metric,
          'StateMachineArn',
          stateMachineArn(stage, name),
          { label: `${name} ${metric.replace('Executions').toLowerCase()}` },
        ]),
      ),
      { stat: 'Sum' },
    ),
    graph(
      'Executions succeeded',
      STATE_MACHINES.map((name) => [
        'AWS/States',
        'ExecutionsSucceeded',
        'StateMachineArn',
        stateMachineArn(stage, name),
        { label: name },
      ]),
      { stat: 'Sum' },
    ),
  ];
  // Two graphs a row.
  let row = 3;
  widgets.slice(1).forEach((widget, index) => {
    widget.x = (index % 2) * 12;
    widget.y = row;
    if (index % 2 === 1) row += 6;
  });
  widgets[0].x = 0;
  widgets[0].y = 0;
  return { widgets };
}

module.exports = {
  body: async ({ resolveVariable }) => {
    const stage = await resolveVariable('sls:stage');
    const percent = await timeToLossAlarmPercent({ resolveVariable });
    return JSON.stringify(dashboard(stage, percent));
  },
  dashboard,
  alarmNames,
};
