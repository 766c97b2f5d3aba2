/**
 * Walks a request value against a model shape and collects what AWS would refuse:
 *  - constraint violations (required members, lengths, ranges, patterns, enums), with AWS's member paths:
 *    lowerCamelCase member names joined by dots, list elements as `<list>.<n>.member` counting from 1
 *    (`tags.6.member.value`, `logEvents.1.member.timestamp`); a list or map of scalars is judged as a whole at its
 *    own path (`Map value must satisfy constraint: […]` at `hyperParameters`);
 *  - a value of the wrong JSON type, which AWS's JSON protocols refuse while deserializing, before any validation
 *    (SerializationException; only the first one counts, as deserialization stops there);
 *  - members the model does not define, which AWS's JSON services skip (returned for the caller to log or count);
 *  - patterns that could not be checked because they do not translate to JavaScript.
 */
import { brokenConstraints, declaredConstraints } from './constraints';
import type { ServiceModel, Shape, ShapeRef, ShapeType } from './model-types';

/** One broken constraint at one member path. */
export interface Violation {
  path: string;
  value: unknown;
  shape: Shape;
  constraint: string;
}

/** Everything one walk found. */
export interface ValueCheck {
  violations: Violation[];
  /** The first value of the wrong JSON type, in the words of AWS's JSON deserializer. */
  serializationError?: string;
  /** Paths of members the model does not define (AWS ignores them). */
  unknownMembers: string[];
  /** Patterns met that could not be checked (untranslatable). */
  uncheckedPatterns: string[];
}

const SCALARS: ReadonlySet<ShapeType> = new Set([
  'string',
  'integer',
  'long',
  'float',
  'double',
  'boolean',
  'timestamp',
  'blob',
]);

const JAVA_TYPES: Record<ShapeType, string> = {
  structure: 'a Structure',
  list: 'a List',
  map: 'a Map',
  string: 'an String',
  integer: 'an Integer',
  long: 'a Long',
  float: 'a Float',
  double: 'a Double',
  boolean: 'a Boolean',
  timestamp: 'a Date',
  blob: 'a ByteBuffer',
};

/**
 * AWS names members in lowerCamelCase in validation messages (`S3Uri` → `s3Uri`, `VolumeSizeInGB` → `volumeSizeInGB`).
 */
export function memberPathName(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

function join(path: string, segment: string): string {
  return path ? `${path}.${segment}` : segment;
}

/** Whether a JSON value has the type a shape needs; the deserializer's message when it does not. */
function typeError(value: unknown, shape: Shape): string | undefined {
  const target = JAVA_TYPES[shape.type];
  const found = Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value;
  const ok = ((): boolean => {
    switch (shape.type) {
      case 'structure':
      case 'map':
        return found === 'object';
      case 'list':
        return found === 'list';
      case 'string':
        return found === 'string';
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
      case 'long':
        return typeof value === 'number' && Number.isSafeInteger(value);
      case 'float':
      case 'double':
        return typeof value === 'number' || value === 'NaN' || value === 'Infinity' || value === '-Infinity';
      case 'boolean':
        return found === 'boolean';
      case 'timestamp':
        // JSON protocols send epoch seconds; ISO 8601 text is read too.
        return typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
      case 'blob':
        return found === 'string' || (found === 'object' && '$blob' in (value as object));
    }
  })();
  if (ok) return undefined;
  if (found === 'object') return 'Start of structure or map found where not expected.';
  if (found === 'list') return 'Start of list found where not expected';
  if (found === 'number' && shape.type === 'string')
    return `class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to ${target}`;
  const token = found === 'number' ? 'NUMBER_VALUE' : found === 'boolean' ? 'BOOLEAN_VALUE' : 'STRING_VALUE';
  return `${token} can not be converted to ${target}`;
}

/** Walks one value; results accumulate in `out`. */
export class ValueChecker {
  readonly out: ValueCheck = { violations: [], unknownMembers: [], uncheckedPatterns: [] };

  constructor(private readonly model: ServiceModel) {}

  shape(ref: ShapeRef | string): Shape {
    const name = typeof ref === 'string' ? ref : ref.shape;
    const s = this.model.shapes[name];
    if (!s) throw new Error(`the ${this.model.metadata.serviceId} model has no shape ${name}`);
    return s;
  }

  /** Checks `value` (present, not null) against `shape` at `path`. */
  check(value: unknown, shape: Shape, path: string): void {
    const wrongType = typeError(value, shape);
    if (wrongType) {
      this.out.serializationError ??= wrongType;
      return;
    }
    if (shape.type === 'structure') return this.structure(value as Record<string, unknown>, shape, path);
    if (shape.type === 'list') return this.list(value as unknown[], shape, path);
    if (shape.type === 'map') return this.map(value as Record<string, unknown>, shape, path);
    this.scalar(value, shape, path);
  }

  private scalar(value: unknown, shape: Shape, path: string): void {
    const { broken, unchecked } = brokenConstraints(value, shape);
    for (const constraint of broken) this.out.violations.push({ path, value, shape, constraint });
    this.out.uncheckedPatterns.push(...unchecked);
  }

  private structure(value: Record<string, unknown>, shape: Shape, path: string): void {
    if (shape.document) return;
    const members = shape.members ?? {};
    for (const [name, ref] of Object.entries(members)) {
      const child = value[name];
      const childPath = join(path, memberPathName(name));
      if (child === undefined || child === null) {
        if (shape.required?.includes(name))
          this.out.violations.push({
            path: childPath,
            value: null,
            shape: this.shape(ref),
            constraint: 'Member must not be null',
          });
        continue;
      }
      this.check(child, this.shape(ref), childPath);
    }
    for (const key of Object.keys(value))
      if (!(key in members) && key !== '__type') this.out.unknownMembers.push(join(path, memberPathName(key)));
  }

  /** Whether every element (or key, or map value) satisfies a scalar shape; type errors are recorded. */
  private allSatisfy(values: unknown[], shape: Shape): boolean {
    let ok = true;
    for (const v of values) {
      if (v === null || v === undefined) continue;
      const wrongType = typeError(v, shape);
      if (wrongType) {
        this.out.serializationError ??= wrongType;
        return true;
      }
      const { broken, unchecked } = brokenConstraints(v, shape);
      this.out.uncheckedPatterns.push(...unchecked);
      if (broken.length) ok = false;
    }
    return ok;
  }

  private list(value: unknown[], shape: Shape, path: string): void {
    this.scalar(value, shape, path);
    const element = this.shape(shape.member as ShapeRef);
    if (SCALARS.has(element.type)) {
      if (!this.allSatisfy(value, element))
        this.out.violations.push({
          path,
          value,
          shape,
          constraint: `Member must satisfy constraint: [${declaredConstraints(element).join(', ')}]`,
        });
      return;
    }
    value.forEach((v, i) => {
      const p = `${path}.${i + 1}.member`;
      if (v === null || v === undefined)
        this.out.violations.push({ path: p, value: null, shape: element, constraint: 'Member must not be null' });
      else this.check(v, element, p);
    });
  }

  private map(value: Record<string, unknown>, shape: Shape, path: string): void {
    this.scalar(value, shape, path);
    const key = this.shape(shape.key as ShapeRef);
    const val = this.shape(shape.value as ShapeRef);
    if (!this.allSatisfy(Object.keys(value), key))
      this.out.violations.push({
        path,
        value,
        shape,
        constraint: `Map keys must satisfy constraint: [${declaredConstraints(key).join(', ')}]`,
      });
    if (SCALARS.has(val.type)) {
      if (!this.allSatisfy(Object.values(value), val))
        this.out.violations.push({
          path,
          value,
          shape,
          constraint: `Map value must satisfy constraint: [${declaredConstraints(val).join(', ')}]`,
        });
      return;
    }
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) this.check(v, val, join(path, k));
  }
}
