import { ALL_PARAMETERS, packagedTemplate } from '../support/packaged-template';

/**
 * The alarms against CloudWatch's missing-data rules. A metric math expression has no value in a
 * period where one of its inputs has no datapoint (`failed + timedOut` is empty when nothing timed
 * out), so every input that can be sparse is wrapped in FILL(id, value). And every alarm says what
 * missing data means for it: no datapoint of a count is "nothing happened", a gauge reported by
 * each archive run has none between runs, and no success at all is itself the alarm.
 */
interface MetricDataQuery {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string }; Stat: string };
}
interface AlarmProperties {
  AlarmName: string;
  Metrics?: MetricDataQuery[];
  MetricName?: string;
  Statistic?: string;
  ComparisonOperator: string;
  TreatMissingData?: string;
}
interface Template {
  Resources: Record<string, { Type: string; Properties: AlarmProperties }>;
}

/** Inputs that always have a datapoint, with the reason (none so far: every input is an event count). */
const NOT_SPARSE: Record<string, string> = {};

/** What missing data means, by the kind of alarm. */
function expectedTreatMissingData(alarm: AlarmProperties): string {
  const stat = alarm.Statistic ?? alarm.Metrics?.find((m) => m.MetricStat)?.MetricStat?.Stat;
  // Counts of events (failures, gaps): no datapoint means none happened.
  if (stat === 'Sum' && alarm.ComparisonOperator.startsWith('GreaterThan')) return 'notBreaching';
  // Counts of successes below a threshold: no datapoint is no success, the very thing alarmed on.
  if (stat === 'Sum' && alarm.ComparisonOperator.startsWith('LessThan')) return 'breaching';
  // A gauge each run reports (time to loss): between runs there is nothing to judge, keep the state.
  if (stat === 'Minimum' || stat === 'Maximum') return 'ignore';
  throw new Error(`no rule for the missing data of ${alarm.AlarmName} (${stat} ${alarm.ComparisonOperator})`);
}

/** The metric ids an expression reads, and those it reads only through FILL(id, value). */
function inputsOf(expression: string, ids: string[]): { used: string[]; filled: string[] } {
  const identifiers = [...expression.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)].map((m) => m[0]);
  const used = ids.filter((id) => identifiers.includes(id));
  const filled = used.filter((id) => {
    const everyUse = expression.match(new RegExp(`(^|[^A-Za-z0-9_])${id}(?![A-Za-z0-9_])`, 'g')) ?? [];
    const inFill = expression.match(new RegExp(`FILL\\(\\s*${id}\\s*,\\s*[^)]+\\)`, 'g')) ?? [];
    return everyUse.length === inFill.length;
  });
  return { used, filled };
}

const templates: [string, Template][] = [];
beforeAll(() => {
  templates.push(['defaults', packagedTemplate<Template>()]);
  templates.push(['every parameter set', packagedTemplate<Template>(ALL_PARAMETERS)]);
}, 600_000);

const alarmsOf = (template: Template) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

describe('the alarms and missing data', () => {
  it('given every metric math alarm, when its expressions are read, then every sparse input is wrapped in FILL', () => {
    for (const [name, template] of templates) {
      const mathAlarms = alarmsOf(template).filter(([, a]) => a.Properties.Metrics);
      expect(mathAlarms.length).toBeGreaterThanOrEqual(4);
      for (const [id, { Properties: alarm }] of mathAlarms) {
        const metricIds = alarm.Metrics!.filter((m) => m.MetricStat).map((m) => m.Id);
        for (const query of alarm.Metrics!.filter((m) => m.Expression)) {
          const { used, filled } = inputsOf(query.Expression!, metricIds);
          expect({ name, id, used: used.length > 0 }).toEqual({ name, id, used: true });
          const unfilled = used.filter((input) => !filled.includes(input) && !NOT_SPARSE[input]);
          expect({ name, id, expression: query.Expression, unfilled }).toEqual({
            name,
            id,
            expression: query.Expression,
            unfilled: [],
          });
        }
      }
    }
  });

  it('given every alarm, when its TreatMissingData is read, then it is the one its kind of metric needs', () => {
    for (const [name, template] of templates) {
      for (const [id, { Properties: alarm }] of alarmsOf(template)) {
        expect({ name, id, treatMissingData: alarm.TreatMissingData }).toEqual({
          name,
          id,
          treatMissingData: expectedTreatMissingData(alarm),
        });
      }
    }
  });

  it('given an expression without FILL, then the check finds its inputs unfilled', () => {
    expect(inputsOf('failed + timedOut', ['failed', 'timedOut']).filled).toEqual([]);
    expect(inputsOf('FILL(failed, 0) + timedOut', ['failed', 'timedOut']).filled).toEqual(['failed']);
    expect(inputsOf('FILL(failed, 0) + FILL(timedOut, 0)', ['failed', 'timedOut']).filled).toEqual([
      'failed',
      'timedOut',
    ]);
  });
});
