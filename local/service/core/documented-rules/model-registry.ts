/**
 * Model Registry rules: a versioned model package takes its group's tags (CreateModelPackage refuses `Tags` beside
 * `ModelPackageGroupName`, and AddTags refuses a version's ARN), and CustomerMetadataProperties holds at most 50
 * entries of SageMaker's key and value limits, also after UpdateModelPackage merges new entries into a version's
 * existing ones.
 */
import { invalid } from '../protocol';
import { fail } from '../request-fields';
import type { RuleCheck } from './rule';

/** Most CustomerMetadataProperties entries one model package holds. */
export const MAX_METADATA_ENTRIES = 50;
const METADATA_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const METADATA_PATTERN_TEXT = '([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)';

/** SageMaker's words when tags are put on a model package version (aws/aws-cdk#33699). */
export const VERSION_TAGS_REFUSED =
  'Tags are not supported in Model Package versions. Please add them to the Model Package Group';

/** A versioned model package's ARN: `…:model-package/<group>/<version>` (an unversioned one has no version). */
export const VERSIONED_MODEL_PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[^:]*:\d{12}:model-package\/[^/]+\/\d+$/;

/** "If you supply ModelPackageGroupName, ... you cannot supply a tag argument." */
export const noTagsWithGroup: RuleCheck = ({ body }) => {
  const tags = body.Tags;
  if (body.ModelPackageGroupName !== undefined && Array.isArray(tags) && tags.length > 0)
    throw invalid(VERSION_TAGS_REFUSED);
};

/** AddTags on a model package version: a version uses its group's tags and takes none of its own. */
export const noTagsOnVersion: RuleCheck = ({ body }) => {
  if (typeof body.ResourceArn === 'string' && VERSIONED_MODEL_PACKAGE_ARN.test(body.ResourceArn))
    throw invalid(VERSION_TAGS_REFUSED);
};

function readMetadata(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(field, value, 'Member must be a map');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length < 1) fail(field, '{}', 'Map must have length greater than or equal to 1');
  if (entries.length > MAX_METADATA_ENTRIES)
    fail(field, `${entries.length} entries`, `Map must have length less than or equal to ${MAX_METADATA_ENTRIES}`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length > 128) fail(`${field}.${k}`, k, 'Map key must have length less than or equal to 128');
    if (!METADATA_CHARS.test(k))
      fail(`${field}.${k}`, k, `Map key must satisfy regular expression pattern: ${METADATA_PATTERN_TEXT}`);
    if (typeof v !== 'string') fail(`${field}.${k}`, v, 'Map value must be a string');
    if (v.length < 1) fail(`${field}.${k}`, v, 'Map value must have length greater than or equal to 1');
    if (v.length > 256) fail(`${field}.${k}`, v, 'Map value must have length less than or equal to 256');
    if (!METADATA_CHARS.test(v))
      fail(`${field}.${k}`, v, `Map value must satisfy regular expression pattern: ${METADATA_PATTERN_TEXT}`);
    out[k] = v;
  }
  return out;
}

/** The map's limits on CreateModelPackage and UpdateModelPackage, and the 50-entry limit of the merged result. */
export const metadataLimits: RuleCheck = ({ operation, body }, state) => {
  const given = readMetadata(body.CustomerMetadataProperties, 'customerMetadataProperties');
  if (operation !== 'UpdateModelPackage' || typeof body.ModelPackageArn !== 'string') return;
  const existing = state.modelPackageMetadata(body.ModelPackageArn);
  if (!existing) return;
  const removed = new Set(
    Array.isArray(body.CustomerMetadataPropertiesToRemove) ? (body.CustomerMetadataPropertiesToRemove as string[]) : [],
  );
  const merged = new Set([...Object.keys(existing), ...Object.keys(given)].filter((k) => !removed.has(k)));
  if (merged.size > MAX_METADATA_ENTRIES)
    throw invalid(
      `A model package can hold at most ${MAX_METADATA_ENTRIES} CustomerMetadataProperties; ${body.ModelPackageArn} would hold ${merged.size} after this update.`,
    );
};
