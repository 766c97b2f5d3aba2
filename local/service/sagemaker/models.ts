/** Models and endpoint configs: Create/Describe/Delete/List, validated like SageMaker. */
import type { Ctx } from '../core/context';
import { assertAssumable, denialText, pullDenial } from '../iam/on-behalf';
import { SAGEMAKER_SERVICE } from '../iam/policies';
import { REGION } from '../../shared/account';
import type { ModelRecord, VariantSpec } from './fleet';
import { arn, invalid, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { sortRecords } from './training';
import {
  arr,
  type Body,
  fail,
  name,
  obj,
  oneOf,
  optInt,
  optObj,
  optStr,
  s3Uri,
  str,
  strMap,
  tags as readTags,
} from '../core/request-fields';

export interface EndpointConfigRecord {
  EndpointConfigName: string;
  EndpointConfigArn: string;
  ProductionVariants: (VariantSpec & Record<string, unknown>)[];
  DataCaptureConfig?: unknown;
  KmsKeyId?: string;
  CreationTime: number;
}

function container(v: unknown, path: string): NonNullable<ModelRecord['PrimaryContainer']> {
  const o = obj(v, path);
  const Image = optStr(o, 'Image', { path: `${path}.image`, max: 255 });
  const ModelDataUrl = optStr(o, 'ModelDataUrl', { path: `${path}.modelDataUrl`, max: 1024 });
  if (ModelDataUrl) s3Uri(ModelDataUrl, `${path}.modelDataUrl`);
  const Environment = strMap(o, 'Environment', { maxEntries: 100, maxKey: 1024, maxValue: 1024 });
  return {
    Image,
    ModelDataUrl,
    Environment: Object.keys(Environment).length ? Environment : undefined,
    Mode: optStr(o, 'Mode'),
  };
}

export class Models {
  constructor(
    private readonly ctx: Ctx,
    private readonly tags: Tags,
  ) {}

  get models() {
    return this.ctx.store.kind<ModelRecord>('models');
  }

  get configs() {
    return this.ctx.store.kind<EndpointConfigRecord>('endpoint-configs');
  }

  model(modelName: string): ModelRecord | undefined {
    return this.models.get(modelName);
  }

  config(configName: string): EndpointConfigRecord {
    const c = this.configs.get(configName);
    if (!c)
      throw invalid(`Could not find endpoint configuration "${arn(`endpoint-config/${configName.toLowerCase()}`)}".`);
    return c;
  }

  /**
   * What CreateModel verifies with the execution role before it accepts a container: SageMaker can assume the role,
   * the role can read the model data (s3:GetObject; AWS's ValidationException text) and pull the image.
   */
  private checkRoleCanUse(roleArn: string | undefined, c: { Image?: string; ModelDataUrl?: string }): void {
    const iam = this.ctx.iam;
    if (!iam || !roleArn) return;
    assertAssumable(iam, roleArn, SAGEMAKER_SERVICE);
    const data = c.ModelDataUrl && /^s3:\/\/([^/]+)\/(.+)$/.exec(c.ModelDataUrl);
    if (data && iam.denyForRole(roleArn, [{ action: 's3:GetObject', resource: `arn:aws:s3:::${data[1]}/${data[2]}` }]))
      throw invalid(
        `Could not access model data at ${c.ModelDataUrl}. Please ensure that the role "${roleArn}" exists and that its trust relationship policy allows the action "sts:AssumeRole" for the service principal "${SAGEMAKER_SERVICE}". Also ensure that the role has "s3:GetObject" permissions and that the object is located in ${REGION}.`,
      );
    const pull = pullDenial(iam, roleArn, c.Image);
    if (pull)
      throw invalid(
        `Using the execution role ${roleArn}, SageMaker cannot pull the image ${c.Image}: ${denialText(pull)}`,
      );
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      CreateModel: (b) => {
        const ModelName = name(b, 'ModelName');
        const ModelArn = arn(`model/${ModelName.toLowerCase()}`);
        const PrimaryContainer =
          b.PrimaryContainer === undefined ? undefined : container(b.PrimaryContainer, 'primaryContainer');
        const Containers = arr(b, 'Containers', { optional: true, max: 15 }).map((c, i) =>
          container(c, `containers.${i + 1}.member`),
        );
        if (!PrimaryContainer && Containers.length === 0)
          fail('PrimaryContainer', undefined, 'Either PrimaryContainer or Containers must be specified');
        const ExecutionRoleArn = optStr(b, 'ExecutionRoleArn', { min: 20, max: 2048 });
        if (this.models.has(ModelName)) throw invalid(`Cannot create already existing model "${ModelArn}".`);
        for (const c of PrimaryContainer ? [PrimaryContainer] : Containers) this.checkRoleCanUse(ExecutionRoleArn, c);
        this.models.put(ModelName, {
          ModelName,
          ModelArn,
          PrimaryContainer,
          Containers: Containers.length ? Containers : undefined,
          ExecutionRoleArn,
          CreationTime: now(),
          EnableNetworkIsolation: b.EnableNetworkIsolation === true ? true : undefined,
        });
        this.tags.add(ModelArn, readTags(b));
        return { ModelArn };
      },
      DescribeModel: (b) => {
        const ModelName = name(b, 'ModelName');
        const m = this.models.get(ModelName);
        if (!m) throw invalid(`Could not find model "${arn(`model/${ModelName.toLowerCase()}`)}".`);
        return wire(m);
      },
      DeleteModel: (b) => {
        const ModelName = name(b, 'ModelName');
        if (!this.models.delete(ModelName))
          throw invalid(`Could not find model "${arn(`model/${ModelName.toLowerCase()}`)}".`);
        return {};
      },
      ListModels: (b) => {
        const contains = optStr(b, 'NameContains');
        const order = oneOf(b, 'SortOrder', ['Ascending', 'Descending'] as const, { optional: true }) ?? 'Descending';
        const items = sortRecords(
          this.models.values().filter((m) => !contains || m.ModelName.includes(contains)),
          'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b);
        return {
          Models: page.map((m) => ({ ModelName: m.ModelName, ModelArn: m.ModelArn, CreationTime: m.CreationTime })),
          NextToken,
        };
      },
      CreateEndpointConfig: (b) => {
        const EndpointConfigName = name(b, 'EndpointConfigName');
        const EndpointConfigArn = arn(`endpoint-config/${EndpointConfigName.toLowerCase()}`);
        const seen = new Set<string>();
        const ProductionVariants = arr(b, 'ProductionVariants', { min: 1, max: 10 }).map((v, i) => {
          const p = `productionVariants.${i + 1}.member`;
          const o = obj(v, p);
          const VariantName = name(o, 'VariantName', 63, `${p}.variantName`);
          if (seen.has(VariantName))
            fail(`${p}.variantName`, VariantName, 'Variant names must be unique within an endpoint configuration');
          seen.add(VariantName);
          const ModelName = name(o, 'ModelName', 63, `${p}.modelName`);
          if (!this.models.has(ModelName))
            throw invalid(`Could not find model "${arn(`model/${ModelName.toLowerCase()}`)}".`);
          if (optObj(o.ServerlessConfig, `${p}.serverlessConfig`))
            fail(
              `${p}.serverlessConfig`,
              'ServerlessConfig',
              'Serverless endpoints are not supported by the local service',
            );
          const InitialInstanceCount = optInt(o, 'InitialInstanceCount', {
            path: `${p}.initialInstanceCount`,
            min: 1,
            max: 16,
          });
          if (InitialInstanceCount === undefined)
            fail(`${p}.initialInstanceCount`, undefined, 'Member must not be null');
          const InstanceType = str(o, 'InstanceType', {
            path: `${p}.instanceType`,
            pattern: /^ml\.[a-z0-9-]+\.[a-z0-9]+$/,
          });
          const w = o.InitialVariantWeight;
          if (w !== undefined && (typeof w !== 'number' || w < 0))
            fail(`${p}.initialVariantWeight`, w, 'Member must have value greater than or equal to 0');
          return {
            ...o,
            VariantName,
            ModelName,
            InitialInstanceCount,
            InstanceType,
            InitialVariantWeight: (w as number | undefined) ?? 1,
          };
        });
        if (this.configs.has(EndpointConfigName))
          throw invalid(`Cannot create already existing endpoint configuration "${EndpointConfigArn}".`);
        this.configs.put(EndpointConfigName, {
          EndpointConfigName,
          EndpointConfigArn,
          ProductionVariants,
          DataCaptureConfig: b.DataCaptureConfig,
          KmsKeyId: optStr(b, 'KmsKeyId'),
          CreationTime: now(),
        });
        this.tags.add(EndpointConfigArn, readTags(b));
        return { EndpointConfigArn };
      },
      DescribeEndpointConfig: (b) => wire(this.config(name(b, 'EndpointConfigName'))),
      DeleteEndpointConfig: (b) => {
        const n = name(b, 'EndpointConfigName');
        this.config(n);
        this.configs.delete(n);
        return {};
      },
      ListEndpointConfigs: (b) => {
        const contains = optStr(b, 'NameContains');
        const order = oneOf(b, 'SortOrder', ['Ascending', 'Descending'] as const, { optional: true }) ?? 'Descending';
        const items = sortRecords(
          this.configs.values().filter((c) => !contains || c.EndpointConfigName.includes(contains)),
          'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b);
        return {
          EndpointConfigs: page.map((c) => ({
            EndpointConfigName: c.EndpointConfigName,
            EndpointConfigArn: c.EndpointConfigArn,
            CreationTime: c.CreationTime,
          })),
          NextToken,
        };
      },
    };
  }
}
