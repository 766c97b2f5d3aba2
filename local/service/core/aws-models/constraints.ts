/**
 * The constraints of one scalar shape (string, number, blob) in the words of AWS's validation messages
 * ("Member must have length less than or equal to 63", "Member must satisfy regular expression pattern: …",
 * "Member must satisfy enum value set: […]"), in the order AWS lists them
 * (`Map value must satisfy constraint: [Member must have length less than or equal to 2500, Member must have length
 * greater than or equal to 0, Member must satisfy regular expression pattern: .*]`).
 */
import type { Shape } from './model-types';
import { testPattern } from './patterns';

/** A value's size as a length constraint counts it: code points for strings, bytes for blobs, entries otherwise. */
export function sizeOf(value: unknown, shape: Shape): number | undefined {
  if (shape.type === 'string' && typeof value === 'string') return [...value].length;
  if (shape.type === 'blob') return blobLength(value);
  if (shape.type === 'list' && Array.isArray(value)) return value.length;
  if (shape.type === 'map' && value && typeof value === 'object') return Object.keys(value).length;
  return undefined;
}

/**
 * A blob's length in bytes: a base64 string (JSON protocols) or `{ $blob: n }`, the placeholder the request audit
 * records instead of bodies it does not copy (`null` when the length is unknown, as for streams).
 */
export function blobLength(value: unknown): number | undefined {
  if (typeof value === 'string') return Buffer.from(value, 'base64').length;
  if (value && typeof value === 'object' && '$blob' in value) {
    const n = (value as { $blob: unknown }).$blob;
    return typeof n === 'number' ? n : undefined;
  }
  return undefined;
}

const isSized = (s: Shape): boolean => ['string', 'blob', 'list', 'map'].includes(s.type);
const isNumeric = (s: Shape): boolean => ['integer', 'long', 'float', 'double'].includes(s.type);

/** Every constraint a shape declares, in AWS's order (for `Member must satisfy constraint: […]`). */
export function declaredConstraints(shape: Shape): string[] {
  const out: string[] = [];
  const unit = isSized(shape) ? 'length' : 'value';
  if (shape.max !== undefined && (isSized(shape) || isNumeric(shape)))
    out.push(`Member must have ${unit} less than or equal to ${shape.max}`);
  if (shape.min !== undefined && (isSized(shape) || isNumeric(shape)))
    out.push(`Member must have ${unit} greater than or equal to ${shape.min}`);
  if (shape.pattern !== undefined) out.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
  if (shape.enum) out.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  return out;
}

/**
 * The constraints a value breaks (same words and order), and the patterns that could not be checked (untranslatable,
 * or out of time: reported, never counted as satisfied silently).
 */
export function brokenConstraints(value: unknown, shape: Shape): { broken: string[]; unchecked: string[] } {
  const broken: string[] = [];
  const unchecked: string[] = [];
  const size = sizeOf(value, shape);
  const unit = isSized(shape) ? 'length' : 'value';
  const measure = isSized(shape) ? size : typeof value === 'number' ? value : undefined;
  if (measure !== undefined) {
    if (shape.max !== undefined && measure > shape.max)
      broken.push(`Member must have ${unit} less than or equal to ${shape.max}`);
    if (shape.min !== undefined && measure < shape.min)
      broken.push(`Member must have ${unit} greater than or equal to ${shape.min}`);
  }
  if (shape.pattern !== undefined && typeof value === 'string') {
    const matches = testPattern(shape.pattern, value);
    if (matches === 'untranslatable' || matches === 'timeout') unchecked.push(shape.pattern);
    else if (!matches) broken.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
  }
  if (shape.enum && typeof value === 'string' && !shape.enum.includes(value))
    broken.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  return { broken, unchecked };
}
