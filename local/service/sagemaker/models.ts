/** Models and endpoint configs: Create/Describe/Delete/List, validated like SageMaker. */
import type { Ctx } from '../core/context';
import { assertAssumable, denialText, pullDenial } from '../iam/on-behalf';
import { SAGEMAKER_SERVICE } from '../iam/policies';
import { REGION } from '../../shared/account';
import type { ModelRecord, VariantSpec } from './fleet';
import { arn, invalid, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { sortRecords } from './job-listing';
import { type Body, fail, s3Uri, tags as readTags, unsupported } from '../core/request-fields';

export interface EndpointConfigRecord {
  EndpointConfigName: string;
  EndpointConfigArn: string;
  ProductionVariants: (VariantSpec & Record<string, unknown>)[];
  DataCaptureConfig?: unknown;
  KmsKeyId?: string;
  CreationTime: number;
}

function container(v: unknown, path: string): NonNullable<ModelRecord['PrimaryContainer']> {
  const o = v as Body;
  const ModelDataUrl = o.ModelDataUrl as string | undefined;
  if (ModelDataUrl) s3Uri(ModelDataUrl, `${path}.modelDataUrl`);
  const Environment = o.Environment as Record<string, string> | undefined;
  return {
    Image: o.Image as string | undefined,
    ModelDataUrl,
    Environment: Environment && Object.keys(Environment).length ? Environment : undefined,
    Mode: o.Mode as string | undefined,
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
        const ModelName = b.ModelName as string;
        const ModelArn = arn(`model/${ModelName.toLowerCase()}`);
        const PrimaryContainer =
          b.PrimaryContainer === undefined ? undefined : container(b.PrimaryContainer, 'primaryContainer');
        const Containers = ((b.Containers as unknown[] | undefined) ?? []).map((c, i) =>
          container(c, `containers.${i + 1}.member`),
        );
        if (!PrimaryContainer && Containers.length === 0)
          fail('PrimaryContainer', undefined, 'Either PrimaryContainer or Containers must be specified');
        const ExecutionRoleArn = b.ExecutionRoleArn as string | undefined;
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
        const ModelName = b.ModelName as string;
        const m = this.models.get(ModelName);
        if (!m) throw invalid(`Could not find model "${arn(`model/${ModelName.toLowerCase()}`)}".`);
        return wire(m);
      },
      DeleteModel: (b) => {
        const ModelName = b.ModelName as string;
        if (!this.models.delete(ModelName))
          throw invalid(`Could not find model "${arn(`model/${ModelName.toLowerCase()}`)}".`);
        return {};
      },
      ListModels: (b) => {
        const contains = b.NameContains as string | undefined;
        const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Descending';
        const items = sortRecords(
          this.models.values().filter((model) => !contains || model.ModelName.includes(contains)),
          'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b);
        return {
          Models: page.map((model) => ({
            ModelName: model.ModelName,
            ModelArn: model.ModelArn,
            CreationTime: model.CreationTime,
          })),
          NextToken,
        };
      },
      CreateEndpointConfig: (b) => {
        const EndpointConfigName = b.EndpointConfigName as string;
        const EndpointConfigArn = arn(`endpoint-config/${EndpointConfigName.toLowerCase()}`);
        const seen = new Set<string>();
        const ProductionVariants = (b.ProductionVariants as Body[]).map((o, i) => {
          const p = `productionVariants.${i + 1}.member`;
          const VariantName = o.VariantName as string;
          if (seen.has(VariantName))
            fail(`${p}.variantName`, VariantName, 'Variant names must be unique within an endpoint configuration');
          seen.add(VariantName);
          const ModelName = o.ModelName as string | undefined;
          if (ModelName === undefined)
            fail(`${p}.modelName`, undefined, 'ModelName is required for a production variant');
          if (!this.models.has(ModelName))
            throw invalid(`Could not find model "${arn(`model/${ModelName.toLowerCase()}`)}".`);
          if (o.ServerlessConfig !== undefined)
            unsupported(`${p}.serverlessConfig`, 'serverless endpoints (ServerlessConfig)');
          const InitialInstanceCount = o.InitialInstanceCount as number | undefined;
          if (InitialInstanceCount === undefined)
            fail(`${p}.initialInstanceCount`, undefined, 'InitialInstanceCount is required without ServerlessConfig');
          const InstanceType = o.InstanceType as string | undefined;
          if (InstanceType === undefined)
            fail(`${p}.instanceType`, undefined, 'InstanceType is required without ServerlessConfig');
          const w = o.InitialVariantWeight as number | undefined;
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
          KmsKeyId: b.KmsKeyId as string | undefined,
          CreationTime: now(),
        });
        this.tags.add(EndpointConfigArn, readTags(b));
        return { EndpointConfigArn };
      },
      DescribeEndpointConfig: (b) => wire(this.config(b.EndpointConfigName as string)),
      DeleteEndpointConfig: (b) => {
        const n = b.EndpointConfigName as string;
        this.config(n);
        this.configs.delete(n);
        return {};
      },
      ListEndpointConfigs: (b) => {
        const contains = b.NameContains as string | undefined;
        const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Descending';
        const items = sortRecords(
          this.configs.values().filter((config) => !contains || config.EndpointConfigName.includes(contains)),
          'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b);
        return {
          EndpointConfigs: page.map((config) => ({
            EndpointConfigName: config.EndpointConfigName,
            EndpointConfigArn: config.EndpointConfigArn,
            CreationTime: config.CreationTime,
          })),
          NextToken,
        };
      },
    };
  }
}
