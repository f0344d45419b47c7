import Ajv, { type ValidateFunction } from 'ajv';

import schema from './cloudwatch-dashboard-body.schema.json';
import { packagedTemplate } from '../support/packaged-template';

/**
 * The dashboard body (deploy/dashboard.cjs) against the structure AWS documents for it
 * ("Dashboard Body Structure and Syntax"), written down as cloudwatch-dashboard-body.schema.json:
 * the whole body, and each widget on its own so that a failure names the widget.
 */
interface Template {
  Resources: Record<string, { Type: string; Properties: { DashboardBody?: { 'Fn::Sub': string } } }>;
}
interface Widget {
  type: string;
  properties: { title?: string };
}

const ajv = new Ajv({ allErrors: true, strict: false }).addSchema(schema, 'dashboard');
const validateBody = ajv.getSchema('dashboard')!;
const validateWidget = ajv.compile({ $ref: 'dashboard#/definitions/widget' });

function problems(validate: ValidateFunction, value: unknown): string[] {
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

let body: { widgets: Widget[] };

beforeAll(() => {
  const template = packagedTemplate<Template>();
  // The body keeps ${AWS::Region}, ${AWS::Partition} and ${AWS::AccountId} for Fn::Sub.
  body = JSON.parse(template.Resources.Dashboard!.Properties.DashboardBody!['Fn::Sub']) as typeof body;
}, 600_000);

describe('the CloudWatch dashboard body', () => {
  it('given the packaged template, when its body is checked against the documented structure, then it is valid', () => {
    expect(problems(validateBody, body)).toEqual([]);
  });

  it('given the packaged template, when each widget is checked, then every widget is valid', () => {
    expect(body.widgets.length).toBeGreaterThan(1);
    const invalid = body.widgets
      .map((widget) => ({
        title: widget.properties.title ?? widget.type,
        problems: problems(validateWidget, widget),
      }))
      .filter((w) => w.problems.length > 0);
    expect(invalid).toEqual([]);
  });

  it('given the widgets, when they are laid out, then none overlaps another or leaves the 24-column grid', () => {
    const cells = new Set<string>();
    for (const widget of body.widgets as unknown as {
      x: number;
      y: number;
      width: number;
      height: number;
    }[]) {
      expect(widget.x + widget.width).toBeLessThanOrEqual(24);
      for (let dx = 0; dx < widget.width; dx++)
        for (let dy = 0; dy < widget.height; dy++) {
          const cell = `${widget.x + dx},${widget.y + dy}`;
          expect(cells.has(cell)).toBe(false);
          cells.add(cell);
        }
    }
  });

  it('given data gaps, then the dashboard counts open and acknowledged ones per stream and says how to resolve them', () => {
    const gaps = body.widgets.find((widget) => widget.properties.title?.startsWith('Data gaps per stream: '));
    const expressions = (
      gaps as unknown as { properties: { metrics: { expression: string }[][] } }
    ).properties.metrics
      .flat()
      .map((metric) => metric.expression);
    expect(expressions).toEqual([
      expect.stringContaining('MetricName="OpenDataGaps" service="reservoir-dev"'),
      expect.stringContaining('MetricName="AcknowledgedDataGaps" service="reservoir-dev"'),
    ]);
    const text = body.widgets.find((widget) => widget.type === 'text') as unknown as {
      properties: { markdown: string };
    };
    expect(text.properties.markdown).toContain(
      '`reservoir gaps acknowledge --stage dev --stream S --shard ID',
    );
  });

  it('given a metric widget whose metrics hold an expression object instead of an array, then the schema rejects it', () => {
    const flat = {
      type: 'metric',
      properties: { region: 'us-east-1', metrics: [{ expression: 'SEARCH(...)', id: 'lag' }] },
    };
    expect(problems(validateWidget, flat)).not.toEqual([]);
    expect(
      problems(validateWidget, {
        ...flat,
        properties: { ...flat.properties, metrics: [[flat.properties.metrics[0]]] },
      }),
    ).toEqual([]);
  });
});
