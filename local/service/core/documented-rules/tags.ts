/**
 * SageMaker's tag rules: at most 50 tags on a resource (in one request, and in all after AddTags), keys and values
 * of SageMaker's character set and lengths, no key twice in one request, and no key with AWS's reserved `aws:`
 * prefix.
 */
import { invalid } from '../protocol';
import { fail } from '../request-fields';
import type { RuleCheck, TagView } from './rule';

/** SageMaker's TagKey/TagValue pattern (botocore sagemaker service-2.json), anchored. */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_PATTERN_TEXT = '([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)';
/** Most tags one resource may carry. */
export const MAX_TAGS_PER_RESOURCE = 50;

/** The Tags member of a request as a list of {Key, Value}, with the shape and per-tag limits checked. */
export function readTagList(value: unknown, field = 'tags'): TagView[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(field, value, 'Member must be a list');
  if (value.length > MAX_TAGS_PER_RESOURCE)
    fail(field, `${value.length} tags`, `Member must have length less than or equal to ${MAX_TAGS_PER_RESOURCE}`);
  return value.map((raw, i) => {
    const at = `${field}.${i + 1}.member`;
    const t = (raw ?? {}) as Record<string, unknown>;
    const key = t.Key;
    const val = t.Value;
    if (typeof key !== 'string') fail(`${at}.key`, key, 'Member must not be null');
    if (key.length < 1) fail(`${at}.key`, key, 'Member must have length greater than or equal to 1');
    if (key.length > 128) fail(`${at}.key`, key, 'Member must have length less than or equal to 128');
    if (!TAG_CHARS.test(key))
      fail(`${at}.key`, key, `Member must satisfy regular expression pattern: ${TAG_PATTERN_TEXT}`);
    if (typeof val !== 'string') fail(`${at}.value`, val, 'Member must not be null');
    if (val.length > 256) fail(`${at}.value`, val, 'Member must have length less than or equal to 256');
    if (!TAG_CHARS.test(val))
      fail(`${at}.value`, val, `Member must satisfy regular expression pattern: ${TAG_PATTERN_TEXT}`);
    return { Key: key, Value: val };
  });
}

/** Tag keys must be unique per resource: a request naming one key twice is refused (SageMaker: "Duplicate tag key"). */
export const uniqueTagKeys: RuleCheck = ({ body }) => {
  const seen = new Set<string>();
  for (const t of readTagList(body.Tags)) {
    if (seen.has(t.Key)) throw invalid('Duplicate tag key');
    seen.add(t.Key);
  }
};

/** Keys starting with `aws:` (any case) are reserved for AWS's own tags. */
export const reservedTagPrefix: RuleCheck = ({ body }) => {
  for (const t of readTagList(body.Tags)) {
    if (t.Key.toLowerCase().startsWith('aws:'))
      throw invalid(`Tag keys starting with 'aws:' are reserved for AWS use (key '${t.Key}')`);
  }
};

/**
 * At most 50 tags in a request, and AddTags may not take a resource past 50 tags in all (keys it re-sets count
 * once).
 */
export const tagLimit: RuleCheck = ({ operation, body }, state) => {
  const added = readTagList(body.Tags);
  if (operation !== 'AddTags' || typeof body.ResourceArn !== 'string') return;
  const keys = new Set(state.tags(body.ResourceArn).map((tag) => tag.Key));
  for (const t of added) keys.add(t.Key);
  if (keys.size > MAX_TAGS_PER_RESOURCE)
    throw invalid(
      `A resource can have at most ${MAX_TAGS_PER_RESOURCE} tags: ${body.ResourceArn} would have ${keys.size} after this AddTags.`,
    );
};
