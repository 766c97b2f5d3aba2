/**
 * A fleet: the serve processes behind one endpoint config (per production variant, InitialInstanceCount
 * instances on free ports). It downloads and unpacks each variant's model.tar.gz into every instance's
 * /opt/ml/model, starts `serve`, and is ready when every instance answers GET /ping with 200.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HostHandle } from '../executors/types';
import { freePort, httpStatus, sleep } from '../../shared/procs';
import { downloadObject, parseS3Uri } from '../core/s3-files';
import type { Ctx } from '../core/context';
import { EventLog } from './endpoint-metrics';

const execFileP = promisify(execFile);

export interface ModelRecord {
  ModelName: string;
  ModelArn: string;
  PrimaryContainer?: { Image?: string; ModelDataUrl?: string; Environment?: Record<string, string>; Mode?: string };
  Containers?: { Image?: string; ModelDataUrl?: string; Environment?: Record<string, string> }[];
  ExecutionRoleArn?: string;
  CreationTime: number;
  EnableNetworkIsolation?: boolean;
}

export interface VariantSpec {
  VariantName: string;
  ModelName: string;
  InitialInstanceCount: number;
  InstanceType?: string;
  InitialVariantWeight: number;
}

export interface Instance {
  port: number;
  handle: HostHandle;
  exited: boolean;
  tail: string[];
  /** Answered /ping: takes traffic. */
  ready?: boolean;
}

export interface FleetVariant {
  spec: VariantSpec;
  image: string | undefined;
  instances: Instance[];
  next: number;
  metrics: EventLog;
  /** The instance count asked for: the config's, then what UpdateEndpointWeightsAndCapacities (auto scaling) set. */
  desiredCount: number;
  /** The model container every instance of the variant runs. */
  container: NonNullable<ModelRecord['PrimaryContainer']>;
  /** Instances started so far (numbers the next one). */
  started: number;
  /** The model's execution role: its session is what the instances' processes reach AWS with. */
  roleArn: string | undefined;
}

/** Where a fleet that is not an endpoint's (a transform job's) keeps its hosts and log, and who reads its lines. */
export interface FleetPlacement {
  dir: string;
  logFile: string;
  onLine?: (instance: number, text: string) => void;
}

export class Fleet {
  readonly variants: FleetVariant[] = [];
  private stopped = false;

  constructor(
    private readonly ctx: Ctx,
    readonly endpointName: string,
    readonly configName: string,
    readonly id: string,
    private readonly placement?: FleetPlacement,
  ) {}

  get dir(): string {
    return this.placement?.dir ?? path.join(this.ctx.endpointsDir, this.endpointName, this.id);
  }

  /** Starts every instance and waits for /ping; throws with a reason SageMaker would give. */
  async start(specs: VariantSpec[], models: (name: string) => ModelRecord | undefined): Promise<void> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    const logFile = this.logFile;
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    for (const spec of specs) {
      const model = models(spec.ModelName);
      if (!model) throw new Error(`Could not find model "${spec.ModelName}".`);
      const container = model.PrimaryContainer ?? model.Containers?.[0] ?? {};
      const modelDir = path.join(this.dir, spec.VariantName, 'model');
      fs.mkdirSync(modelDir, { recursive: true });
      if (container.ModelDataUrl) await this.fetchModel(container.ModelDataUrl, modelDir, model.ExecutionRoleArn);
      const variant: FleetVariant = {
        spec,
        image: container.Image,
        instances: [],
        next: 0,
        metrics: new EventLog(),
        desiredCount: spec.InitialInstanceCount,
        container,
        started: 0,
        roleArn: model.ExecutionRoleArn,
      };
      this.variants.push(variant);
      for (let i = 0; i < spec.InitialInstanceCount; i++) await this.launchInstance(variant, logFile);
    }
    await this.waitReady();
  }

  private get logFile(): string {
    return this.placement?.logFile ?? path.join(this.ctx.logDir, 'endpoints', `${this.endpointName}.log`);
  }

  /** Starts one more `serve` instance of the variant (its /ping is awaited by the caller). */
  private async launchInstance(variant: FleetVariant, logFile = this.logFile): Promise<Instance> {
    if (this.stopped) throw new Error('fleet stopped while starting');
    const spec = variant.spec;
    const i = variant.started++;
    const modelDir = path.join(this.dir, spec.VariantName, 'model');
    const base = path.join(this.dir, spec.VariantName, `instance-${i + 1}`);
    fs.mkdirSync(path.join(base, 'output'), { recursive: true });
    fs.cpSync(modelDir, path.join(base, 'model'), { recursive: true });
    const port = await freePort();
    const label = `${this.endpointName}/${this.id}/${spec.VariantName}/${i + 1}`;
    const inst: Instance = { port, exited: false, tail: [], handle: undefined as unknown as HostHandle };
    inst.handle = this.ctx.executor.start({
      entry: 'serve',
      baseDir: base,
      image: variant.container.Image,
      label,
      env: {
        ...this.ctx.roleEnv(variant.roleArn),
        ...(variant.container.Environment ?? {}),
        SAGEMAKER_BIND_TO_PORT: String(port),
        SAGEMAKER_SAFE_PORT_RANGE: `${port}-${port}`,
      },
      onLine: (text) => {
        fs.appendFileSync(logFile, `[${this.id}/${spec.VariantName}/${i + 1}] ${text}\n`);
        this.placement?.onLine?.(i + 1, text);
        inst.tail.push(text);
        if (inst.tail.length > 20) inst.tail.shift();
      },
    });
    void inst.handle.exited.then(() => {
      inst.exited = true;
    });
    variant.instances.push(inst);
    return inst;
  }

  /**
   * Moves a variant to `count` instances: new ones start and must answer /ping before they take traffic, surplus
   * ones are drained and stopped (the newest first).
   */
  async scaleVariant(variantName: string, count: number): Promise<void> {
    const variant = this.variants.find((variant) => variant.spec.VariantName === variantName);
    if (!variant) throw new Error(`The variant name(s) [${variantName}] is/are not present in the endpoint.`);
    variant.desiredCount = count;
    const live = variant.instances.filter((i) => !i.exited);
    if (live.length < count) {
      const added: Instance[] = [];
      // Not routed to until ready: pick() sees them only once they are in `instances` and ready.
      for (let n = live.length; n < count; n++) added.push(await this.launchInstance(variant));
      await this.waitInstances(variant, added);
      return;
    }
    const surplus = live.slice(count);
    variant.instances = variant.instances.filter((i) => !surplus.includes(i));
    for (const i of surplus) i.handle.kill('SIGTERM');
    const timer = setTimeout(() => surplus.forEach((i) => i.handle.kill('SIGKILL')), 10_000);
    timer.unref();
    await Promise.all(surplus.map((i) => i.handle.exited));
    clearTimeout(timer);
  }

  /** Downloads and unpacks the model data, as the model's execution role (as SageMaker reads it). */
  private async fetchModel(uri: string, dir: string, roleArn: string | undefined): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    const file = path.join(this.dir, `${path.basename(dir)}-${Math.random().toString(36).slice(2)}.tar.gz`);
    try {
      await downloadObject(this.ctx.roleClients(roleArn).s3, bucket, key, file);
    } catch (err) {
      throw new Error(`Failed to download model data from ${uri}: ${(err as Error).message}`);
    }
    if (uri.endsWith('.tar.gz') || uri.endsWith('.tgz')) await execFileP('tar', ['-xzf', file, '-C', dir]);
    else fs.copyFileSync(file, path.join(dir, path.posix.basename(key)));
    fs.rmSync(file, { force: true });
  }

  private async waitReady(): Promise<void> {
    for (const v of this.variants) await this.waitInstances(v, v.instances);
  }

  private async waitInstances(v: FleetVariant, instances: Instance[]): Promise<void> {
    const deadline = Date.now() + this.ctx.pingTimeoutMs;
    for (const inst of instances) {
      for (;;) {
        if (this.stopped) throw new Error('fleet stopped while starting');
        if (inst.exited)
          throw new Error(
            `The primary container for production variant ${v.spec.VariantName} did not pass the ping health ` +
              `check: the serve process exited. Last log lines: ${inst.tail.slice(-5).join(' | ')}`,
          );
        if ((await httpStatus(`http://127.0.0.1:${inst.port}/ping`, 2_000)) === 200) break;
        if (Date.now() > deadline)
          throw new Error(
            `The primary container for production variant ${v.spec.VariantName} did not pass the ping health ` +
              `check within ${Math.round(this.ctx.pingTimeoutMs / 1000)} s.`,
          );
        await sleep(200);
      }
      inst.ready = true;
    }
  }

  /** Picks a variant by weight (or the one named) and an instance round-robin. */
  pick(targetVariant?: string): { variant: FleetVariant; instance: Instance } | undefined {
    let variant: FleetVariant | undefined;
    if (targetVariant) variant = this.variants.find((variant) => variant.spec.VariantName === targetVariant);
    else {
      const total = this.variants.reduce((s, v) => s + v.spec.InitialVariantWeight, 0);
      let r = Math.random() * total;
      variant =
        this.variants.find((variant) => (r -= variant.spec.InitialVariantWeight) < 0) ??
        this.variants[this.variants.length - 1];
    }
    if (!variant) return undefined;
    const live = variant.instances.filter((i) => !i.exited && i.ready);
    if (live.length === 0) return undefined;
    const instance = live[variant.next++ % live.length] as Instance;
    return { variant, instance };
  }

  describeVariants(): Record<string, unknown>[] {
    return this.variants.map((variant) => ({
      VariantName: variant.spec.VariantName,
      DeployedImages: variant.image
        ? [{ SpecifiedImage: variant.image, ResolvedImage: variant.image, ResolutionTime: Date.now() / 1000 }]
        : [],
      CurrentWeight: variant.spec.InitialVariantWeight,
      DesiredWeight: variant.spec.InitialVariantWeight,
      CurrentInstanceCount: variant.instances.filter((i) => !i.exited && i.ready).length,
      DesiredInstanceCount: variant.desiredCount,
    }));
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    const all = this.variants.flatMap((variant) => variant.instances);
    for (const i of all) i.handle.kill('SIGTERM');
    const timer = setTimeout(() => all.forEach((i) => i.handle.kill('SIGKILL')), graceMs);
    timer.unref();
    await Promise.all(all.map((i) => i.handle.exited));
    clearTimeout(timer);
  }
}
