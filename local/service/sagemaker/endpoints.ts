/**
 * Endpoints: CreateEndpoint (Creating → InService once every instance answers /ping, or Failed), DescribeEndpoint,
 * ListEndpoints, UpdateEndpoint (blue/green, see bluegreen.ts), UpdateEndpointWeightsAndCapacities (weights, and a
 * capacity change: Updating while instances start or stop, the way Application Auto Scaling's scaling activities
 * move an endpoint), DeleteEndpoint. Which calls a status refuses is a documented rule (core/documented-rules).
 * The running fleets and the traffic split between blue and green live in memory; after a service restart the
 * fleets of InService endpoints are started again.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { EventEmitter } from 'node:events';
import type { Ctx } from '../core/context';
import { runBlueGreen, type DeploymentConfig } from './bluegreen';
import { MetricPublisher } from './endpoint-metrics';
import { Fleet } from './fleet';
import { Models } from './models';
import { arn, invalid, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { sortRecords } from './job-listing';
import { type Body, tags as readTags } from '../core/request-fields';

export type EndpointStatus =
  'Creating' | 'Updating' | 'RollingBack' | 'InService' | 'Deleting' | 'Failed' | 'SystemUpdating' | 'OutOfService';

export interface EndpointRecord {
  EndpointName: string;
  EndpointArn: string;
  EndpointConfigName: string;
  EndpointStatus: EndpointStatus;
  CreationTime: number;
  LastModifiedTime: number;
  FailureReason?: string;
  LastDeploymentConfig?: DeploymentConfig;
  /** Config being rolled out by an UpdateEndpoint in progress. */
  _pendingConfig?: string;
  _pendingSince?: number;
}

/** What the runtime routes to: the serving fleet, and during a blue/green update the new fleet and its share. */
export interface Route {
  blue?: Fleet;
  green?: Fleet;
  greenShare: number;
  abort?: boolean;
}

export class Endpoints {
  readonly models: Models;
  readonly routes = new Map<string, Route>();
  readonly publisher: MetricPublisher;
  private metricsTimer: NodeJS.Timeout | undefined;
  private fleetSeq = 0;
  /** Alarm polling interval during blue/green waits. */
  alarmPollMs = 1000;
  /** Emits `deleted` (endpoint name) when an endpoint is gone. */
  readonly events = new EventEmitter();

  constructor(
    private readonly ctx: Ctx,
    private readonly tags: Tags,
  ) {
    this.models = new Models(ctx, tags);
    this.publisher = new MetricPublisher(ctx.moto.cloudwatch, (m) => ctx.log(m));
  }

  get endpoints() {
    return this.ctx.store.kind<EndpointRecord>('endpoints');
  }

  startMetrics(): void {
    this.metricsTimer = setInterval(() => void this.publisher.flush(), this.ctx.metricsFlushMs);
    this.metricsTimer.unref();
  }

  private get(endpointName: string): EndpointRecord {
    const e = this.endpoints.get(endpointName);
    if (!e) throw invalid(`Could not find endpoint "${arn(`endpoint/${endpointName.toLowerCase()}`)}".`);
    return e;
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      ...this.models.handlers(),
      CreateEndpoint: (b) => this.create(b),
      DescribeEndpoint: (b) => this.describe(b.EndpointName as string),
      ListEndpoints: (b) => this.list(b),
      DeleteEndpoint: (b) => {
        this.delete(b.EndpointName as string);
        return {};
      },
      UpdateEndpoint: (b) => this.update(b),
      UpdateEndpointWeightsAndCapacities: (b) => {
        const n = b.EndpointName as string;
        const e = this.get(n);
        const fleet = this.routes.get(n)?.blue;
        // Shapes, counts and ranges have been checked against AWS's model (core/model-gate.ts).
        const changes = (b.DesiredWeightsAndCapacities as Body[]).map((o) => {
          const vn = o.VariantName as string;
          const v = fleet?.variants.find((variant) => variant.spec.VariantName === vn);
          if (!v) throw invalid(`The variant name(s) [${vn}] is/are not present in the endpoint.`);
          const count = o.DesiredInstanceCount as number | undefined;
          return { v, weight: typeof o.DesiredWeight === 'number' ? o.DesiredWeight : undefined, count };
        });
        for (const c of changes) if (c.weight !== undefined) c.v.spec.InitialVariantWeight = c.weight;
        const sized = changes.filter((c) => c.count !== undefined && c.count !== c.v.desiredCount);
        // SageMaker sets the endpoint to Updating for the change, then back to InService.
        this.setStatus(n, 'Updating', undefined);
        void Promise.all(sized.map((c) => fleet?.scaleVariant(c.v.spec.VariantName, c.count as number)))
          .then(() => this.finishCapacityChange(n))
          .catch((err: Error) => this.finishCapacityChange(n, `Failed to update capacity: ${err.message}`));
        return { EndpointArn: e.EndpointArn };
      },
    };
  }

  /** The variants of an endpoint's serving fleet: desired and current instance counts (InService endpoints only). */
  variantCapacity(endpointName: string, variantName: string): { desired: number; current: number } | undefined {
    const e = this.endpoints.get(endpointName);
    const v = this.routes.get(endpointName)?.blue?.variants.find((variant) => variant.spec.VariantName === variantName);
    if (!e || !v) return undefined;
    return { desired: v.desiredCount, current: v.instances.filter((i) => !i.exited && i.ready).length };
  }

  /** The fleet variant's invocation log (what SageMaker aggregates into its per-minute metrics). */
  variantEvents(endpointName: string, variantName: string) {
    return this.routes.get(endpointName)?.blue?.variants.find((variant) => variant.spec.VariantName === variantName)
      ?.metrics;
  }

  /**
   * A capacity change the way UpdateEndpointWeightsAndCapacities (which Application Auto Scaling calls) makes it:
   * Updating at once, InService once the variant runs `count` instances. Resolves when the change is over.
   */
  async setVariantCapacity(endpointName: string, variantName: string, count: number): Promise<void> {
    const fleet = this.routes.get(endpointName)?.blue;
    if (!fleet || this.endpoints.get(endpointName)?.EndpointStatus !== 'InService')
      throw invalid(`Cannot update in-progress endpoint "${arn(`endpoint/${endpointName.toLowerCase()}`)}".`);
    this.setStatus(endpointName, 'Updating', undefined);
    try {
      await fleet.scaleVariant(variantName, count);
      this.finishCapacityChange(endpointName);
    } catch (err) {
      this.finishCapacityChange(endpointName, `Failed to update capacity: ${(err as Error).message}`);
      throw err;
    }
  }

  private finishCapacityChange(endpointName: string, failureReason?: string): void {
    const e = this.endpoints.get(endpointName);
    // A delete (or a restart) that came meanwhile owns the status now.
    if (e?.EndpointStatus === 'Updating' && !e._pendingConfig) this.setStatus(endpointName, 'InService', failureReason);
  }

  private create(b: Body): unknown {
    const EndpointName = b.EndpointName as string;
    const EndpointConfigName = b.EndpointConfigName as string;
    const EndpointArn = arn(`endpoint/${EndpointName.toLowerCase()}`);
    this.models.config(EndpointConfigName);
    if (this.endpoints.has(EndpointName)) throw invalid(`Cannot create already existing endpoint "${EndpointArn}".`);
    const t = now();
    this.endpoints.put(EndpointName, {
      EndpointName,
      EndpointArn,
      EndpointConfigName,
      EndpointStatus: 'Creating',
      CreationTime: t,
      LastModifiedTime: t,
    });
    this.tags.add(EndpointArn, readTags(b));
    this.launch(EndpointName);
    return { EndpointArn };
  }

  /**
   * Starts the fleet for the endpoint's config; InService when ready (with `reasonWhenInService` as FailureReason,
   * e.g. why an update was abandoned), Failed otherwise.
   */
  private launch(endpointName: string, reasonWhenInService?: string): void {
    const e = this.get(endpointName);
    const fleet = this.newFleet(endpointName, e.EndpointConfigName);
    const route: Route = { blue: undefined, greenShare: 0 };
    this.routes.set(endpointName, route);
    const config = this.models.config(e.EndpointConfigName);
    fleet
      .start(config.ProductionVariants, (m) => this.models.model(m))
      .then(() => {
        if (route.abort) return fleet.stop();
        route.blue = fleet;
        this.setStatus(endpointName, 'InService', reasonWhenInService);
        return undefined;
      })
      .catch(async (err: Error) => {
        await fleet.stop(2_000);
        if (route.abort) return;
        this.setStatus(endpointName, 'Failed', err.message);
      })
      .catch((err: Error) => this.ctx.log(`endpoint ${endpointName}: ${err.message}`));
  }

  newFleet(endpointName: string, configName: string): Fleet {
    return new Fleet(this.ctx, endpointName, configName, `fleet-${Date.now().toString(36)}-${++this.fleetSeq}`);
  }

  setStatus(
    endpointName: string,
    status: EndpointStatus,
    failureReason: string | undefined,
    change?: (e: EndpointRecord) => void,
  ): void {
    this.endpoints.update(endpointName, (endpoint) => {
      endpoint.EndpointStatus = status;
      endpoint.FailureReason = failureReason;
      endpoint.LastModifiedTime = now();
      change?.(endpoint);
    });
  }

  describe(endpointName: string): Record<string, unknown> {
    const e = this.get(endpointName);
    const route = this.routes.get(endpointName);
    const out: Record<string, unknown> = wire(e);
    const variants = route?.blue?.describeVariants();
    if (variants?.length) {
      if (route?.green && route.greenShare > 0)
        for (const v of variants) v.CurrentWeight = (v.CurrentWeight as number) * (1 - route.greenShare);
      out.ProductionVariants = variants;
    }
    if (e._pendingConfig) {
      const pending = this.models.configs.get(e._pendingConfig);
      out.PendingDeploymentSummary = {
        EndpointConfigName: e._pendingConfig,
        StartTime: e._pendingSince,
        ProductionVariants: (pending?.ProductionVariants ?? []).map((v) => ({
          VariantName: v.VariantName,
          DesiredWeight: v.InitialVariantWeight,
          CurrentInstanceCount:
            route?.green?.variants.find((g) => g.spec.VariantName === v.VariantName)?.instances.filter((i) => !i.exited)
              .length ?? 0,
          DesiredInstanceCount: v.InitialInstanceCount,
          VariantStatus: [
            {
              Status: route?.green ? (route.greenShare > 0 ? 'ActivatingTraffic' : 'Baking') : 'Creating',
              StartTime: e._pendingSince,
            },
          ],
        })),
      };
    }
    return out;
  }

  private list(b: Body): unknown {
    const contains = b.NameContains as string | undefined;
    const status = b.StatusEquals as string | undefined;
    const sortBy = (b.SortBy as string | undefined) ?? 'CreationTime';
    const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Descending';
    const items = sortRecords(
      this.endpoints
        .values()
        .filter(
          (endpoint) =>
            (!contains || endpoint.EndpointName.includes(contains)) && (!status || endpoint.EndpointStatus === status),
        ),
      sortBy === 'Name' ? 'EndpointName' : sortBy === 'Status' ? 'EndpointStatus' : 'CreationTime',
      order,
    );
    const { page, NextToken } = paginate(items, b);
    return {
      Endpoints: page.map((endpoint) => ({
        EndpointName: endpoint.EndpointName,
        EndpointArn: endpoint.EndpointArn,
        CreationTime: endpoint.CreationTime,
        LastModifiedTime: endpoint.LastModifiedTime,
        EndpointStatus: endpoint.EndpointStatus,
      })),
      NextToken,
    };
  }

  private delete(endpointName: string): void {
    const e = this.get(endpointName);
    if (e.EndpointStatus === 'Deleting') return;
    this.setStatus(endpointName, 'Deleting', undefined);
    const route = this.routes.get(endpointName);
    this.routes.delete(endpointName);
    if (route) route.abort = true;
    const fleets = [route?.blue, route?.green].filter((fleet): fleet is Fleet => fleet !== undefined);
    Promise.all(fleets.map((fleet) => fleet.stop()))
      .catch((err: Error) => this.ctx.log(`delete endpoint ${endpointName}: ${err.message}`))
      .finally(() => {
        this.endpoints.delete(endpointName);
        this.tags.remove(e.EndpointArn);
        this.events.emit('deleted', endpointName);
      });
  }

  private async update(b: Body): Promise<unknown> {
    const EndpointName = b.EndpointName as string;
    const EndpointConfigName = b.EndpointConfigName as string;
    const e = this.get(EndpointName);
    this.models.config(EndpointConfigName);
    // Only an InService endpoint gets here (documented rule endpoint.update-state).
    if (b.RetainAllVariantProperties === true || b.ExcludeRetainedVariantProperties !== undefined) {
      // Accepted and ignored: the new config's variants are used as they are.
    }
    const deployment = b.DeploymentConfig as DeploymentConfig | undefined;
    // Alarm names are CloudWatch's (any non-blank text, at most 10 of them: checked against the model).
    const alarmNames = (deployment?.AutoRollbackConfiguration?.Alarms ?? []).flatMap((a) =>
      a.AlarmName ? [a.AlarmName] : [],
    );
    if (alarmNames.length) {
      const found = await this.ctx.moto.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames }));
      const have = new Set((found.MetricAlarms ?? []).map((a) => a.AlarmName));
      const missing = alarmNames.filter((n) => !have.has(n));
      if (missing.length) throw invalid(`The alarm(s) [${missing.join(', ')}] do not exist in CloudWatch.`);
    }
    const route = this.routes.get(EndpointName);
    if (!route?.blue) throw invalid(`Cannot update endpoint "${e.EndpointArn}": its fleet is not running yet.`);
    const t = now();
    this.setStatus(EndpointName, 'Updating', undefined, (endpoint) => {
      endpoint._pendingConfig = EndpointConfigName;
      endpoint._pendingSince = t;
    });
    void runBlueGreen(this.ctx, this, EndpointName, EndpointConfigName, deployment, alarmNames).catch((err: Error) =>
      this.ctx.log(`update endpoint ${EndpointName}: ${err.message}`),
    );
    return { EndpointArn: e.EndpointArn };
  }

  /** After a restart: bring back the fleets; an update that was in flight is rolled back to the old config. */
  resume(): void {
    for (const e of this.endpoints.values()) {
      if (e.EndpointStatus === 'Deleting') {
        this.endpoints.delete(e.EndpointName);
        continue;
      }
      if (e.EndpointStatus === 'Failed' || e.EndpointStatus === 'OutOfService') continue;
      // An update with a pending config was a deployment; Updating without one was a capacity change (auto scaling),
      // which simply ends: the fleet comes back (with its config's instance count).
      const interrupted = (e.EndpointStatus === 'Updating' && !!e._pendingConfig) || e.EndpointStatus === 'RollingBack';
      const reason = interrupted
        ? `The update to ${e._pendingConfig ?? 'a new config'} was interrupted by a restart of the local service; ` +
          `the endpoint keeps its previous configuration.`
        : undefined;
      this.endpoints.update(e.EndpointName, (endpoint) => {
        if (reason) {
          endpoint.FailureReason = reason;
          endpoint.EndpointStatus = 'Creating';
        }
        delete endpoint._pendingConfig;
        delete endpoint._pendingSince;
        if (endpoint.EndpointStatus !== 'InService') endpoint.EndpointStatus = 'Creating';
      });
      // The reason must outlive the relaunch: it is the only account of why the update never finished.
      this.launch(e.EndpointName, reason);
    }
  }

  async shutdown(): Promise<void> {
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    const fleets: Fleet[] = [];
    for (const r of this.routes.values()) {
      r.abort = true;
      if (r.blue) fleets.push(r.blue);
      if (r.green) fleets.push(r.green);
    }
    await Promise.all(fleets.map((fleet) => fleet.stop(5_000)));
    await this.publisher.flush();
  }
}
