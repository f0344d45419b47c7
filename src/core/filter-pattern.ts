/**
 * Replay filters: the pattern language of Lambda event filtering, which is that of Amazon EventBridge
 * content filtering (docs: "Lambda event filtering" / "Filter rule syntax", EventBridge "Event patterns",
 * "Content filtering", "Comparison operators"). EventBridge runs the open-source Event Ruler, so where the docs
 * are silent this module follows Event Ruler's JsonRuleCompiler (what it rejects) and ByteMachine (what matches).
 *
 * A pattern is an object whose leaves are arrays of match conditions: all fields must match (AND), any condition
 * of a leaf may match (OR). An array of patterns matches when any pattern matches.
 *
 * Pure: no AWS SDK. Patterns are compiled once into closures; matching never throws.
 */
import { ValidationError } from './errors';

export type FilterPattern = Record<string, unknown>;

/** What a pattern is applied to: one Kinesis record of a replay (see the replay contract). */
export interface FilterEvent {
  partitionKey: string;
  sequenceNumber: string;
  /** Epoch milliseconds (not seconds, as in Lambda's Kinesis event). */
  approximateArrivalTimestamp: number;
  /** The payload parsed as JSON when it is valid JSON, else the payload as a string (UTF-8 text or base64). */
  data: unknown;
}

/** Validates one pattern or an array of patterns (array = OR); throws ValidationError naming the path and rule. */
export function validateFilter(pattern: unknown, field = 'filter'): FilterPattern[] {
  compilePatterns(pattern, field);
  return (Array.isArray(pattern) ? pattern : [pattern]) as FilterPattern[];
}

/** Compiles once into a predicate (validating first: a malformed pattern throws ValidationError). */
export function compileFilter(pattern: FilterPattern | FilterPattern[]): (event: FilterEvent) => boolean {
  const compiled = compilePatterns(pattern, 'filter');
  return (event) => compiled.some((node) => matchObject(node, event, event));
}

// ---------------------------------------------------------------------------------------------------------------
// Compiled form

/** A leaf value of the event: what match conditions compare against (objects are never leaves). */
type Scalar = string | number | boolean | null;
type ValueTest = (value: Scalar) => boolean;

interface ObjectMatcher {
  fields: FieldMatcher[];
  /** One entry per "$or" key in the object: the event must match at least one branch of each. */
  anyOf: ObjectMatcher[][];
}

type FieldMatcher =
  | { kind: 'nested'; key: string; node: ObjectMatcher }
  | {
      kind: 'leaf';
      key: string;
      /** Keys from the pattern's root to this field ("$or" is not a step). */
      path: string[];
      tests: ValueTest[];
      existsTrue: boolean;
      existsFalse: boolean;
    };

const OR = '$or';

/** Event Ruler's RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP: field names refused anywhere inside a "$or" branch. */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

// ---------------------------------------------------------------------------------------------------------------
// Validation and compilation (one pass: every rule broken throws with the path and the rule's name)

function fail(where: string, message: string, rule: string): never {
  throw new ValidationError(`field ${where}: ${message} (${rule})`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compilePatterns(pattern: unknown, field: string): ObjectMatcher[] {
  if (!Array.isArray(pattern)) return [compileObject(pattern, field, [], false)];
  if (pattern.length === 0) fail(field, 'must hold at least one pattern', 'pattern');
  return pattern.map((item, i) => compileObject(item, `${field}[${i}]`, [], false));
}

function compileObject(pattern: unknown, where: string, path: string[], inOr: boolean): ObjectMatcher {
  if (!isObject(pattern)) fail(where, 'must be an object of fields', 'pattern');
  const keys = Object.keys(pattern);
  if (keys.length === 0) fail(where, 'must not be an empty object', 'pattern');
  const node: ObjectMatcher = { fields: [], anyOf: [] };
  for (const key of keys) {
    const value = pattern[key];
    const at = `${where}.${key}`;
    if (key === OR) {
      node.anyOf.push(compileOr(value, at, path));
    } else if (inOr && RESERVED_IN_OR.has(key)) {
      fail(at, `"${key}" is an operator name and cannot be a field name inside "$or"`, '$or');
    } else if (Array.isArray(value)) {
      node.fields.push(compileLeaf(value, key, at, [...path, key]));
    } else if (isObject(value)) {
      node.fields.push({ kind: 'nested', key, node: compileObject(value, at, [...path, key], inOr) });
    } else {
      fail(at, 'must be an array of match conditions or an object of fields', 'pattern');
    }
  }
  return node;
}

/** `"$or": [pattern, pattern, ...]` — Event Ruler requires an array of at least 2 objects. */
function compileOr(value: unknown, at: string, path: string[]): ObjectMatcher[] {
  if (!Array.isArray(value) || value.length < 2)
    fail(at, '"$or" expects an array of at least 2 patterns', '$or');
  return value.map((branch, i) => {
    if (!isObject(branch)) fail(`${at}[${i}]`, '"$or" accepts only pattern objects', '$or');
    return compileObject(branch, `${at}[${i}]`, path, true);
  });
}

function compileLeaf(conditions: unknown[], key: string, at: string, path: string[]): FieldMatcher {
  if (conditions.length === 0) fail(at, 'must not be an empty array', 'pattern');
  const leaf = {
    kind: 'leaf' as const,
    key,
    path,
    tests: [] as ValueTest[],
    existsTrue: false,
    existsFalse: false,
  };
  for (const condition of conditions) {
    if (isObject(condition)) {
      const compiled = compileOperator(condition, at);
      if (typeof compiled === 'boolean') {
        if (compiled) leaf.existsTrue = true;
        else leaf.existsFalse = true;
      } else {
        leaf.tests.push(compiled);
      }
    } else if (isScalar(condition)) {
      leaf.tests.push(equalsTest(condition, at));
    } else {
      fail(at, 'a match condition must be a string, number, boolean, null or an operator object', 'pattern');
    }
  }
  return leaf;
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Returns a value test, or the boolean of an `exists` condition. */
function compileOperator(condition: Record<string, unknown>, at: string): ValueTest | boolean {
  const names = Object.keys(condition);
  if (names.length !== 1) {
    const got = names.length === 0 ? 'none' : names.map((name) => `"${name}"`).join(', ');
    fail(at, `an operator object must hold exactly one operator, got ${got}`, 'operator');
  }
  const name = names[0]!;
  const operand = condition[name];
  switch (name) {
    case 'prefix':
      return prefixTest(operand, at);
    case 'suffix':
      return suffixTest(operand, at);
    case 'equals-ignore-case':
      return ignoreCaseTest(stringOperand(operand, name, at), 'whole');
    case 'wildcard':
      return wildcardTest(parseWildcard(stringOperand(operand, name, at), at, name));
    case 'anything-but':
      return anythingButTest(operand, at);
    case 'numeric':
      return numericTest(operand, at);
    case 'cidr':
      return cidrTest(stringOperand(operand, name, at), at);
    case 'exists':
      if (typeof operand !== 'boolean') fail(at, '"exists" expects true or false', 'exists');
      return operand;
    default:
      return fail(at, `unknown operator "${name}"`, 'operator');
  }
}

function stringOperand(operand: unknown, operator: string, at: string): string {
  if (typeof operand !== 'string') fail(at, `"${operator}" expects a string`, operator);
  return operand;
}

function finiteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Operator families. Type rules (Event Ruler): string operators match only strings, numeric/cidr only what they
// name, exact values only the same JSON type ("5" never matches 5; true never matches "true").

/** Exact value: strings character by character, numbers by value, true/false/null as themselves. */
function equalsTest(expected: Scalar, at: string): ValueTest {
  // Lambda's docs say 300, 300.0 and 3.0e2 are not equal; Event Ruler compiles a pattern number to both its text
  // and its numeric value, and a parsed event has lost its number text anyway, so numbers compare by value here.
  if (typeof expected === 'number' && !Number.isFinite(expected))
    fail(at, 'a number must be finite', 'pattern');
  return (value) => value === expected;
}

/** `{"prefix": "x"}` or `{"prefix": {"equals-ignore-case": "x"}}`. An empty prefix matches every string. */
function prefixTest(operand: unknown, at: string): ValueTest {
  if (isObject(operand)) return ignoreCaseTest(ignoreCaseOperand(operand, 'prefix', at), 'prefix');
  const prefix = stringOperand(operand, 'prefix', at);
  return (value) => typeof value === 'string' && value.startsWith(prefix);
}

/** `{"suffix": "x"}` or `{"suffix": {"equals-ignore-case": "x"}}`. */
function suffixTest(operand: unknown, at: string): ValueTest {
  if (isObject(operand)) return ignoreCaseTest(ignoreCaseOperand(operand, 'suffix', at), 'suffix');
  const suffix = stringOperand(operand, 'suffix', at);
  return (value) => typeof value === 'string' && value.endsWith(suffix);
}

function ignoreCaseOperand(operand: Record<string, unknown>, operator: string, at: string): string {
  const names = Object.keys(operand);
  const text = operand['equals-ignore-case'];
  if (names.length !== 1 || typeof text !== 'string') {
    fail(at, `"${operator}" expects a string or {"equals-ignore-case": string}`, operator);
  }
  return text;
}

/**
 * Case-insensitive comparison as Event Ruler does it: each character of the pattern matches its lower-case or its
 * upper-case form (so "ß" matches "ß" and "SS"), compared over UTF-16 units as Java's `char`.
 */
function ignoreCaseTest(text: string, anchor: 'whole' | 'prefix' | 'suffix'): ValueTest {
  const body = text
    .split('')
    .map((unit) => {
      const forms = [...new Set([unit.toLowerCase(), unit.toUpperCase()])].map(escapeRegExp);
      return forms.length === 1 ? forms[0] : `(?:${forms.join('|')})`;
    })
    .join('');
  const regExp = new RegExp(anchor === 'whole' ? `^${body}$` : anchor === 'prefix' ? `^${body}` : `${body}$`);
  return (value) => typeof value === 'string' && regExp.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * The literal parts between the wildcards of a `wildcard` operand. Docs: "*" matches any run of characters,
 * consecutive wildcard characters are not supported, "\*" and "\\" stand for "*" and "\", and a backslash
 * before any other character is not supported.
 */
function parseWildcard(text: string, at: string, rule: string): string[] {
  const parts = [''];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '*') {
      if (text[i + 1] === '*') fail(at, `"wildcard" must not hold consecutive "*" (position ${i})`, rule);
      parts.push('');
      continue;
    }
    let literal = char;
    if (char === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') {
        fail(at, `"wildcard" allows a backslash only before "*" or "\\" (position ${i})`, rule);
      }
      literal = next;
      i++;
    }
    parts[parts.length - 1] += literal;
  }
  return parts;
}

/** Greedy, linear matching of literal parts separated by "*" (no regular expression, no backtracking blow-up). */
function wildcardTest(parts: string[]): ValueTest {
  const first = parts[0]!;
  if (parts.length === 1) return (value) => value === first;
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1);
  return (value) => {
    if (typeof value !== 'string' || value.length < first.length + last.length) return false;
    if (!value.startsWith(first) || !value.endsWith(last)) return false;
    const end = value.length - last.length;
    let from = first.length;
    for (const part of middle) {
      const found = value.indexOf(part, from);
      if (found < 0 || found + part.length > end) return false;
      from = found + part.length;
    }
    return true;
  };
}

/**
 * `anything-but`: a value, a list of only strings or only numbers, or one of prefix / suffix / equals-ignore-case /
 * wildcard (each with a string or a list of strings). It needs a value to be present, and — as Event Ruler does —
 * it matches every value that its inner condition does not match, including values of another type
 * (`{"anything-but": "x"}` matches 5, true and null; `{"anything-but": [1]}` matches "1").
 */
function anythingButTest(operand: unknown, at: string): ValueTest {
  const rule = 'anything-but';
  let excluded: ValueTest[];
  if (typeof operand === 'string' || finiteNumber(operand)) {
    excluded = [(value) => value === operand];
  } else if (Array.isArray(operand)) {
    const allStrings = operand.every((item) => typeof item === 'string');
    const allNumbers = operand.every(finiteNumber);
    if (operand.length === 0 || !(allStrings || allNumbers)) {
      fail(at, '"anything-but" expects a non-empty list of only strings or only numbers', rule);
    }
    const set = new Set<unknown>(operand);
    excluded = [(value) => set.has(value)];
  } else if (isObject(operand)) {
    excluded = anythingButOperatorTests(operand, at);
  } else {
    fail(
      at,
      '"anything-but" expects a string, a number, a list of them, or one of "prefix", "suffix", ' +
        '"equals-ignore-case", "wildcard"',
      rule,
    );
  }
  return (value) => !excluded.some((test) => test(value));
}

function anythingButOperatorTests(operand: Record<string, unknown>, at: string): ValueTest[] {
  const names = Object.keys(operand);
  const name = names[0];
  const known = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];
  if (names.length !== 1 || name === undefined || !known.includes(name)) {
    fail(
      at,
      `"anything-but" accepts one of ${known.map((k) => `"${k}"`).join(', ')} as an object`,
      'anything-but',
    );
  }
  const inner = operand[name];
  const label = `anything-but" / "${name}`;
  const values = Array.isArray(inner) ? inner : [inner];
  if (values.length === 0)
    fail(at, `"${label}" expects a string or a non-empty list of strings`, 'anything-but');
  return values.map((item) => {
    if (typeof item !== 'string')
      fail(at, `"${label}" expects a string or a list of strings`, 'anything-but');
    switch (name) {
      case 'prefix':
      case 'suffix':
        // Event Ruler: "Null prefix/suffix not allowed" (it would exclude every string).
        if (item === '') fail(at, `"${label}" must not be empty`, 'anything-but');
        return name === 'prefix'
          ? (value: Scalar) => typeof value === 'string' && value.startsWith(item)
          : (value: Scalar) => typeof value === 'string' && value.endsWith(item);
      case 'equals-ignore-case':
        return ignoreCaseTest(item, 'whole');
      default:
        return wildcardTest(parseWildcard(item, at, 'anything-but'));
    }
  });
}

type Comparison = '=' | '<' | '<=' | '>' | '>=';
const COMPARISONS: readonly string[] = ['=', '<', '<=', '>', '>='];

/**
 * `{"numeric": ["=", 3]}`, `[">", 0]`, `["<=", 5]` or a range `[">" | ">=", low, "<" | "<=", high]` with
 * low < high (Event Ruler: "Bottom must be less than top"). Matches JSON numbers only.
 */
function numericTest(operand: unknown, at: string): ValueTest {
  const rule = 'numeric';
  if (!Array.isArray(operand) || operand.length === 0) {
    fail(at, '"numeric" expects an array such as [">", 0, "<=", 5]', rule);
  }
  if (operand.length > 4) fail(at, '"numeric" accepts at most 2 comparisons', rule);
  const comparisons: { op: Comparison; bound: number }[] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op: unknown = operand[i];
    const bound: unknown = operand[i + 1];
    if (typeof op !== 'string' || !COMPARISONS.includes(op)) {
      fail(at, `"numeric" has unknown comparison ${JSON.stringify(op)}; use one of =, <, <=, >, >=`, rule);
    }
    if (!finiteNumber(bound)) fail(at, `"numeric" expects a number after "${op}"`, rule);
    comparisons.push({ op: op as Comparison, bound });
  }
  const [low, high] = comparisons;
  if (high !== undefined && low !== undefined) {
    if (!['>', '>='].includes(low.op) || !['<', '<='].includes(high.op)) {
      fail(at, '"numeric" range must be a lower bound (">" or ">=") then an upper bound ("<" or "<=")', rule);
    }
    if (!(low.bound < high.bound)) {
      fail(at, `"numeric" lower bound ${low.bound} must be less than upper bound ${high.bound}`, rule);
    }
  }
  return (value) =>
    typeof value === 'number' && comparisons.every(({ op, bound }) => compare(value, op, bound));
}

function compare(value: number, op: Comparison, bound: number): boolean {
  switch (op) {
    case '=':
      return value === bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
  }
}

interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

/**
 * `{"cidr": "10.0.0.0/24"}` (IPv4 or IPv6): matches string values that are IP addresses of the same version in
 * the block. Host bits in the pattern are ignored (Event Ruler floors the range). Event Ruler refuses /32 (IPv4)
 * and /128 (IPv6) — "mask bits must be < 32" — a single address is matched with its exact string instead.
 */
function cidrTest(text: string, at: string): ValueTest {
  const rule = 'cidr';
  const [address, bits, ...rest] = text.split('/');
  if (address === undefined || bits === undefined || rest.length > 0) {
    fail(at, `"cidr" expects an address/mask such as "10.0.0.0/24", got "${text}"`, rule);
  }
  const ip = parseIp(address);
  if (!ip) fail(at, `"cidr" has an invalid IP address "${address}"`, rule);
  const width = ip.version === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || Number(bits) >= width) {
    fail(
      at,
      `"cidr" mask must be an integer from 0 to ${width - 1} for IPv${ip.version}, got "${bits}"`,
      rule,
    );
  }
  const hostBits = BigInt(width - Number(bits));
  const low = (ip.value >> hostBits) << hostBits;
  const high = low | ((1n << hostBits) - 1n);
  return (value) => {
    if (typeof value !== 'string') return false;
    const candidate = parseIp(value);
    return candidate?.version === ip.version && candidate.value >= low && candidate.value <= high;
  };
}

function parseIp(text: string): IpAddress | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((octet) => octet > 255)) return undefined;
    return { version: 4, value: octets.reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n) };
  }
  return parseIpv6(text);
}

/** Hexadecimal groups with at most one "::" (no embedded IPv4 or zone, as Event Ruler's IPv6 pattern). */
function parseIpv6(text: string): IpAddress | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]!);
  let groups = head;
  if (halves.length === 2) {
    const tail = groupsOf(halves[1]!);
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  }
  if (groups.length !== 8 || groups.some((group) => !/^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  return { version: 6, value: groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n) };
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

/**
 * Arrays are looked through (docs: "Arrays in event patterns": a pattern matches an array when any element
 * matches), and array-consistently as Event Ruler's rulesForJSONEvent: the fields of one pattern object, and its
 * "$or" branches, must all match within the same element of an array of objects.
 */
function matchObject(node: ObjectMatcher, value: unknown, root: unknown): boolean {
  return elementsOf(value).some(
    (element) =>
      node.fields.every((field) => matchField(field, element, root)) &&
      node.anyOf.every((branches) => branches.some((branch) => matchObject(branch, element, root))),
  );
}

function matchField(field: FieldMatcher, element: unknown, root: unknown): boolean {
  const value = fieldOf(element, field.key);
  if (field.kind === 'nested') return matchObject(field.node, value, root);
  const leaves = leafValues(value);
  return (
    leaves.some((leaf) => field.tests.some((test) => test(leaf))) ||
    (field.existsTrue && leaves.length > 0) ||
    (field.existsFalse && leafValues(valuesAtPath(root, field.path)).length === 0)
  );
}

/*
 * `exists` (docs: "Exists matching only works on leaf nodes"): a field exists when it holds a leaf value — a
 * string, number, boolean or null. So a field present with null EXISTS (`{"exists": true}` matches it,
 * `{"exists": false}` does not; use `[null]` to select nulls), while a field holding an object (not a leaf,
 * per the docs' c-count example) or an empty array does not exist.
 * `{"exists": false}` holds when no leaf is found at the field's path anywhere in the event, through every array
 * element, not only in the element that the sibling fields matched (as Event Ruler's absence check when no other
 * field constrains the array element).
 */
function valuesAtPath(root: unknown, path: readonly string[]): unknown[] {
  let nodes: unknown[] = [root];
  for (const key of path) nodes = nodes.flatMap(flattenArrays).map((node) => fieldOf(node, key));
  return nodes;
}

function fieldOf(node: unknown, key: string): unknown {
  return isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
}

function flattenArrays(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flatMap(flattenArrays) : [value];
}

/** The candidates a nested pattern is tried on: each element of an array (an empty array behaves as absent). */
function elementsOf(value: unknown): unknown[] {
  const elements = flattenArrays(value);
  return elements.length > 0 ? elements : [undefined];
}

function leafValues(value: unknown): Scalar[] {
  return flattenArrays(value).filter(isScalar);
}
