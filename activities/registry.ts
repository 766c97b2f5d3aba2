/**
 * Model registry (step 6): the model package group, the currently approved version, the new version (one per
 * workflow, however often the activity is retried) and the approval decision written back.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageCommand,
  type DescribeModelPackageCommandOutput,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { stableHash } from '../contracts/names';
import {
  type ApprovalStatus,
  type ApprovedModelPackage,
  CreateModelPackageInput,
  type CreateModelPackageOutput,
  EnsureModelPackageGroupInput,
  type EnsureModelPackageGroupOutput,
  type FindApprovedModelPackageInput,
  oneLine,
  UpdateModelPackageApprovalInput,
  type UpdateModelPackageApprovalOutput,
} from '../contracts/register-model';
import { aws } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { warnIfActivity } from './polling';
import { s3Object } from './s3-objects';
import { isAlreadyExists, isNotFound } from './sagemaker-owner';

/** CustomerMetadataProperties keys this project writes. */
export const META = {
  workflowId: 'pipeline:workflow-id',
  workflowIdHash: 'pipeline:workflow-id-hash',
  imageDigest: 'pipeline:image-digest',
  trainingJob: 'pipeline:training-job',
  objectiveMetric: 'pipeline:objective-metric',
  objectiveValue: 'pipeline:objective-value',
  /** evaluateModel's token-weighted held-out nll: what the champion rule compares when both versions have it. */
  evalNll: 'pipeline:eval-nll',
  code: (kind: 'training' | 'inference') => `pipeline:${kind}-code`,
  codeSha256: (kind: 'training' | 'inference') => `pipeline:${kind}-code-sha256`,
  entryPoint: (kind: 'training' | 'inference') => `pipeline:${kind}-entry-point`,
  data: (channel: string) => `pipeline:data:${channel}`,
  metric: (name: string) => `metric:${name}`,
  hyperparameter: (name: string) => `hp:${name}`,
  omitted: 'pipeline:metadata-omitted',
} as const;

/**
 * SageMaker allows at most 50 CustomerMetadataProperties per model package (API_CreateModelPackage). The fixed
 * lineage entries come first, then channels, metrics and hyperparameters (each in name order) while they fit; what
 * does not fit is named in `pipeline:metadata-omitted` (every value is also in the ModelMetrics statistics document).
 */
export const MAX_METADATA_ENTRIES = 50;
/** How many of the newest versions a retried create searches for its own. */
const REATTACH_SCAN = 20;

/** Makes a value fit CustomerMetadataProperties' pattern (letters, numbers, spaces, `_.:/=+-@`) and length. */
export function metadataValue(value: string, max = 256): string {
  const clean = value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, max);
  return clean.length > 0 ? clean : '_';
}

/** The idempotency token of one workflow's CreateModelPackage (1-36 characters of `[a-zA-Z0-9-]`). */
export function modelPackageClientToken(workflowId: string): string {
  return `${stableHash(`${workflowId}\u0000register`)}-${stableHash(`register\u0000${workflowId}`)}`;
}

/** The version number at the end of a versioned model package ARN (`…:model-package/group/3`). */
export function versionFromArn(arn: string): number | null {
  const m = /\/(\d+)$/.exec(arn);
  return m ? Number(m[1]) : null;
}

type ParsedCreate = ReturnType<typeof CreateModelPackageInput.parse>;

/** Whose version this is: the workflow, and the run key of a re-run under the same workflow ID (contracts/rerun.ts). */
function ownerKey(input: Pick<ParsedCreate, 'workflowId' | 'runKey'>): string {
  return input.runKey === undefined ? input.workflowId : `${input.workflowId}\u0000${input.runKey}`;
}

/** The CustomerMetadataProperties of a version (at most 50), and the keys left out for lack of room. */
export function metadata(input: ParsedCreate): { properties: Record<string, string>; omitted: string[] } {
  const digest = /@(sha256:[a-f0-9]{64})$/.exec(input.imageUri)?.[1] ?? '';
  const meta: Record<string, string> = {
    [META.workflowId]: metadataValue(input.workflowId),
    [META.workflowIdHash]: stableHash(ownerKey(input)),
    [META.imageDigest]: digest || '_',
    [META.trainingJob]: metadataValue(input.trainingJobName),
    [META.objectiveMetric]: metadataValue(input.objective.metricName),
    [META.objectiveValue]: String(input.objective.value),
    // A fixed entry (never left out at the limit): the next run's champion rule reads it.
    ...(input.evaluation ? { [META.evalNll]: String(input.evaluation.evalNll) } : {}),
  };
  // Where the team's code came from is lineage: kept before the optional entries.
  for (const kind of ['training', 'inference'] as const) {
    const code = kind === 'training' ? input.trainingCode : input.inferenceCode;
    if (!code) continue;
    meta[META.code(kind)] = metadataValue(code.s3Uri);
    meta[META.entryPoint(kind)] = metadataValue(code.entryPoint);
    meta[META.codeSha256(kind)] = code.sha256;
  }
  const byName = <T>(o: Record<string, T>) => Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
  const optional: [string, string][] = [
    ...byName(input.dataUris).map(([c, uri]): [string, string] => [
      metadataValue(META.data(c), 128),
      metadataValue(uri),
    ]),
    ...byName(input.metrics).map(([n, v]): [string, string] => [metadataValue(META.metric(n), 128), String(v)]),
    ...byName(input.hyperparameters).map(([n, v]): [string, string] => [
      metadataValue(META.hyperparameter(n), 128),
      metadataValue(v),
    ]),
  ].filter(([key]) => !(key in meta));
  // One entry is kept for the note when anything has to be left out.
  const room = MAX_METADATA_ENTRIES - Object.keys(meta).length;
  const fits = optional.length <= room ? optional : optional.slice(0, room - 1);
  for (const [key, value] of fits) meta[key] = value;
  const omitted = optional.slice(fits.length).map(([key]) => key);
  if (omitted.length) {
    // Only letters, digits, spaces and _.:/=+-@ are allowed, and 256 characters: the S3 URI first, then the keys.
    const where = input.metricsS3Uri ? `all values are in ${input.metricsS3Uri} / ` : '';
    meta[META.omitted] = metadataValue(
      `${where}${omitted.length} left out at the limit of ${MAX_METADATA_ENTRIES}: ${omitted.join(' ')}`,
    );
  }
  return { properties: meta, omitted };
}

/** The model-quality statistics document written next to the package (ModelMetrics needs an S3 object). */
function statisticsDocument(input: ParsedCreate): string {
  return JSON.stringify({
    objective: input.objective,
    metrics: Object.fromEntries(Object.entries(input.metrics).map(([k, v]) => [k, { value: v }])),
    hyperparameters: input.hyperparameters,
    ...(input.evaluation ? { evaluation: input.evaluation } : {}),
    lineage: {
      workflowId: input.workflowId,
      imageUri: input.imageUri,
      trainingJob: input.trainingJobName,
      data: input.dataUris,
      ...(input.trainingCode ? { trainingCode: input.trainingCode } : {}),
      ...(input.inferenceCode ? { inferenceCode: input.inferenceCode } : {}),
    },
  });
}

/** Creates the model registry activities. */
export function createRegistryActivities(deps: ActivityDeps) {
  const sm = deps.clients.sagemaker;
  const describePackage = (arn: string) =>
    aws(`DescribeModelPackage ${arn}`, () => sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn })));

  /** The objective recorded on a package: its metadata first, else its ModelMetrics statistics document. */
  async function objectiveOf(pkg: DescribeModelPackageCommandOutput, metric: string): Promise<number | null> {
    const meta = pkg.CustomerMetadataProperties ?? {};
    const fromMeta =
      meta[META.objectiveMetric] === metadataValue(metric)
        ? meta[META.objectiveValue]
        : meta[metadataValue(META.metric(metric), 128)];
    if (fromMeta !== undefined && Number.isFinite(Number(fromMeta))) return Number(fromMeta);
    const uri = pkg.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
    if (!uri) return null;
    const res = await aws(`GetObject ${uri}`, () => deps.clients.s3.send(new GetObjectCommand(s3Object(uri))));
    try {
      const doc = JSON.parse((await res.Body?.transformToString()) ?? '{}') as {
        objective?: { metricName?: string; value?: number };
        metrics?: Record<string, { value?: number }>;
      };
      const value = doc.objective?.metricName === metric ? doc.objective.value : doc.metrics?.[metric]?.value;
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    } catch {
      return null;
    }
  }

  /** The eval_nll recorded in a package's metadata (registerModel writes it there); null when not evaluated. */
  function evalNllOf(pkg: DescribeModelPackageCommandOutput): number | null {
    const value = pkg.CustomerMetadataProperties?.[META.evalNll];
    return value !== undefined && Number.isFinite(Number(value)) ? Number(value) : null;
  }

  /** This workflow's version among the newest ones, found by the hash of its owner key in its metadata. */
  async function findOwnVersion(group: string, owner: string): Promise<DescribeModelPackageCommandOutput | null> {
    const list = await aws(`ListModelPackages ${group}`, () =>
      sm.send(
        new ListModelPackagesCommand({
          ModelPackageGroupName: group,
          SortBy: 'CreationTime',
          SortOrder: 'Descending',
          MaxResults: REATTACH_SCAN,
        }),
      ),
    );
    const hash = stableHash(owner);
    for (const summary of list.ModelPackageSummaryList ?? []) {
      const pkg = await describePackage(summary.ModelPackageArn ?? '');
      if (pkg.CustomerMetadataProperties?.[META.workflowIdHash] === hash) return pkg;
    }
    return null;
  }

  return {
    /** Creates the model package group unless it exists. */
    async ensureModelPackageGroup(raw: EnsureModelPackageGroupInput): Promise<EnsureModelPackageGroupOutput> {
      const input = parseInput(EnsureModelPackageGroupInput, raw, 'ensureModelPackageGroup input');
      const name = input.modelPackageGroupName;
      const describe = () =>
        aws(`DescribeModelPackageGroup ${name}`, () =>
          sm.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: name })),
        );
      try {
        return { modelPackageGroupArn: (await describe()).ModelPackageGroupArn ?? '', created: false };
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      try {
        const res = await aws(`CreateModelPackageGroup ${name}`, () =>
          sm.send(
            new CreateModelPackageGroupCommand({
              ModelPackageGroupName: name,
              ModelPackageGroupDescription: input.description,
              Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
            }),
          ),
        );
        return { modelPackageGroupArn: res.ModelPackageGroupArn ?? '', created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        return { modelPackageGroupArn: (await describe()).ModelPackageGroupArn ?? '', created: false };
      }
    },

    /** The latest Approved version of the group, with its objective (metadata, else ModelMetrics); null if none. */
    async findApprovedModelPackage(input: FindApprovedModelPackageInput): Promise<ApprovedModelPackage> {
      const list = await aws(`ListModelPackages ${input.modelPackageGroupName}`, () =>
        sm.send(
          new ListModelPackagesCommand({
            ModelPackageGroupName: input.modelPackageGroupName,
            ModelApprovalStatus: 'Approved',
            SortBy: 'CreationTime',
            SortOrder: 'Descending',
            MaxResults: 1,
          }),
        ),
      );
      const latest = list.ModelPackageSummaryList?.[0];
      if (!latest) return null;
      const pkg = await describePackage(latest.ModelPackageArn ?? '');
      const evalNll = evalNllOf(pkg);
      return {
        modelPackageArn: pkg.ModelPackageArn ?? '',
        modelPackageVersion: pkg.ModelPackageVersion ?? versionFromArn(pkg.ModelPackageArn ?? ''),
        objectiveValue: await objectiveOf(pkg, input.objectiveMetric),
        modelDataUrl: pkg.InferenceSpecification?.Containers?.[0]?.ModelDataUrl ?? null,
        // Only when recorded: a version registered without an evaluation answers as it did before evaluations.
        ...(evalNll === null ? {} : { evalNll }),
      };
    },

    /**
     * CreateModelPackage, at most once per workflow: a retry first looks for the version whose metadata carries
     * this workflow's ID hash, and the call itself carries a ClientToken derived from the workflow ID.
     */
    async createModelPackage(raw: CreateModelPackageInput): Promise<CreateModelPackageOutput> {
      const input = parseInput(CreateModelPackageInput, raw, 'createModelPackage input');
      const group = input.modelPackageGroupName;
      const own = await findOwnVersion(group, ownerKey(input));
      if (own) {
        return {
          modelPackageArn: own.ModelPackageArn ?? '',
          modelPackageVersion: own.ModelPackageVersion ?? versionFromArn(own.ModelPackageArn ?? ''),
          approvalStatus: (own.ModelApprovalStatus ?? 'PendingManualApproval') as ApprovalStatus,
          reattached: true,
        };
      }
      if (input.metricsS3Uri) {
        const target = s3Object(input.metricsS3Uri);
        await aws(`PutObject ${input.metricsS3Uri}`, () =>
          deps.clients.s3.send(
            new PutObjectCommand({ ...target, Body: statisticsDocument(input), ContentType: 'application/json' }),
          ),
        );
      }
      const digest = /@(sha256:[a-f0-9]{64})$/.exec(input.imageUri)?.[1];
      const meta = metadata(input);
      if (meta.omitted.length)
        warnIfActivity(
          `CustomerMetadataProperties of ${group}: ${meta.omitted.length} entries left out (SageMaker allows ${MAX_METADATA_ENTRIES}): ${meta.omitted.join(', ')}`,
        );
      // No Tags, now or later: a version in a group uses the group's tags. SageMaker refuses Tags beside
      // ModelPackageGroupName (API_CreateModelPackage) and AddTags on a version ("Tags are not supported in Model
      // Package versions", aws/aws-cdk#33699). Whose version it is lives in its CustomerMetadataProperties.
      const res = await aws(`CreateModelPackage ${group}`, () =>
        sm.send(
          new CreateModelPackageCommand({
            ModelPackageGroupName: group,
            ModelPackageDescription: input.description ?? input.approvalDescription,
            InferenceSpecification: {
              Containers: [
                {
                  Image: input.imageUri,
                  ImageDigest: digest,
                  ModelDataUrl: input.modelDataUrl,
                  ...(input.environment ? { Environment: input.environment } : {}),
                },
              ],
              SupportedContentTypes: input.contentTypes,
              SupportedResponseMIMETypes: input.contentTypes,
              SupportedRealtimeInferenceInstanceTypes: input.inferenceInstanceTypes as never,
            },
            ModelApprovalStatus: input.approvalStatus,
            CustomerMetadataProperties: meta.properties,
            ModelMetrics: input.metricsS3Uri
              ? { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: input.metricsS3Uri } } }
              : undefined,
            ClientToken: modelPackageClientToken(ownerKey(input)),
          }),
        ),
      );
      const arn = res.ModelPackageArn ?? '';
      return {
        modelPackageArn: arn,
        modelPackageVersion: versionFromArn(arn),
        approvalStatus: input.approvalStatus,
        reattached: false,
      };
    },

    /** Writes a reviewer's decision with UpdateModelPackage; the approval description names the reviewer. */
    async updateModelPackageApproval(raw: UpdateModelPackageApprovalInput): Promise<UpdateModelPackageApprovalOutput> {
      const input = parseInput(UpdateModelPackageApprovalInput, raw, 'updateModelPackageApproval input');
      // One line: ApprovalDescription's pattern `.*` (Java) refuses line breaks, and reasons the pipeline writes
      // itself (a rollback's alarm message) may carry some; reviewers' decisions are refused with one up front.
      const description = oneLine(`${input.status} by ${input.reviewer}: ${input.reason}`).slice(0, 1024);
      const pkg = await describePackage(input.modelPackageArn);
      if (pkg.ModelApprovalStatus === input.status && pkg.ApprovalDescription === description) {
        return { modelPackageArn: input.modelPackageArn, approvalStatus: input.status, changed: false };
      }
      await aws(`UpdateModelPackage ${input.modelPackageArn}`, () =>
        sm.send(
          new UpdateModelPackageCommand({
            ModelPackageArn: input.modelPackageArn,
            ModelApprovalStatus: input.status,
            ApprovalDescription: description,
          }),
        ),
      );
      return { modelPackageArn: input.modelPackageArn, approvalStatus: input.status, changed: true };
    },
  };
}
