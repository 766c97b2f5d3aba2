/**
 * Model registry: model package groups and versioned model packages (CreateModelPackage with ClientToken
 * idempotency, Describe by name or ARN, List with approval filter and sorting, UpdateModelPackage approvals).
 */
import { createHash } from 'node:crypto';
import type { Ctx } from '../core/context';
import { arn, invalid, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { sortRecords } from './training';
import { type Body, name, obj, oneOf, optObj, optStr, str, strMap, tags as readTags } from '../core/request-fields';

const APPROVAL = ['Approved', 'Rejected', 'PendingManualApproval'] as const;
type Approval = (typeof APPROVAL)[number];

interface GroupRecord {
  ModelPackageGroupName: string;
  ModelPackageGroupArn: string;
  ModelPackageGroupDescription?: string;
  CreationTime: number;
  ModelPackageGroupStatus: 'Completed' | 'Deleting';
  CreatedBy: Record<string, unknown>;
  _nextVersion: number;
}

interface PackageRecord {
  ModelPackageName: string;
  ModelPackageGroupName: string;
  ModelPackageVersion: number;
  ModelPackageArn: string;
  ModelPackageDescription?: string;
  CreationTime: number;
  LastModifiedTime?: number;
  InferenceSpecification?: unknown;
  ModelPackageStatus: 'Completed';
  ModelPackageStatusDetails: unknown;
  ModelApprovalStatus: Approval;
  ApprovalDescription?: string;
  CustomerMetadataProperties?: Record<string, string>;
  ModelMetrics?: unknown;
  MetadataProperties?: unknown;
  Domain?: string;
  Task?: string;
  CertifyForMarketplace: boolean;
  _clientToken?: string;
  _requestHash?: string;
}

export class Registry {
  constructor(
    private readonly ctx: Ctx,
    private readonly tags: Tags,
  ) {}

  private get groups() {
    return this.ctx.store.kind<GroupRecord>('model-package-groups');
  }

  private get packages() {
    return this.ctx.store.kind<PackageRecord>('model-packages');
  }

  private group(groupName: string): GroupRecord {
    const g = this.groups.get(groupName);
    if (!g) throw invalid(`ModelPackageGroup ${groupName} does not exist.`);
    return g;
  }

  /** A package by ARN (versioned) or by name (unversioned packages are not supported here). */
  private pkg(ref: string): PackageRecord {
    const p =
      this.packages.get(ref) ?? this.packages.values().find((x) => x.ModelPackageName === ref && !ref.includes('/'));
    if (!p) throw invalid(`ModelPackage ${ref} does not exist.`);
    return p;
  }

  /** What Search finds: groups and packages as Describe shows them, with their tags. */
  searchSources(): Record<'ModelPackageGroup' | 'ModelPackage', () => Record<string, unknown>[]> {
    return {
      ModelPackageGroup: () =>
        this.groups.values().map((g) => ({ ...wire(g), Tags: this.tags.get(g.ModelPackageGroupArn) })),
      ModelPackage: () => this.packages.values().map((p) => ({ ...wire(p), Tags: this.tags.get(p.ModelPackageArn) })),
    };
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      CreateModelPackageGroup: (b) => {
        const n = name(b, 'ModelPackageGroupName');
        const groupArn = arn(`model-package-group/${n.toLowerCase()}`);
        if (this.groups.has(n)) throw invalid(`Model Package Group already exists: ${groupArn}`);
        this.groups.put(n, {
          ModelPackageGroupName: n,
          ModelPackageGroupArn: groupArn,
          ModelPackageGroupDescription: optStr(b, 'ModelPackageGroupDescription', { max: 1024 }),
          CreationTime: now(),
          ModelPackageGroupStatus: 'Completed',
          CreatedBy: {},
          _nextVersion: 1,
        });
        this.tags.add(groupArn, readTags(b));
        return { ModelPackageGroupArn: groupArn };
      },
      DescribeModelPackageGroup: (b) => wire(this.group(name(b, 'ModelPackageGroupName'))),
      ListModelPackageGroups: (b) => {
        const contains = optStr(b, 'NameContains');
        const order = oneOf(b, 'SortOrder', ['Ascending', 'Descending'] as const, { optional: true }) ?? 'Ascending';
        const items = sortRecords(
          this.groups.values().filter((g) => !contains || g.ModelPackageGroupName.includes(contains)),
          'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b, 10, 100);
        return { ModelPackageGroupSummaryList: page.map((g) => wire({ ...g, CreatedBy: undefined })), NextToken };
      },
      DeleteModelPackageGroup: (b) => {
        const n = name(b, 'ModelPackageGroupName');
        this.group(n);
        if (this.packages.values().some((p) => p.ModelPackageGroupName === n))
          throw invalid(`Model Package Group ${n} still contains model packages; delete them first.`);
        this.groups.delete(n);
        return {};
      },
      CreateModelPackage: (b) => this.create(b),
      DescribeModelPackage: (b) => wire(this.pkg(str(b, 'ModelPackageName', { min: 1, max: 2048 }))),
      ListModelPackages: (b) => {
        const group = optStr(b, 'ModelPackageGroupName');
        if (group) this.group(group.split('/').pop() as string);
        const status = oneOf(b, 'ModelApprovalStatus', APPROVAL, { optional: true });
        const sortBy = oneOf(b, 'SortBy', ['Name', 'CreationTime'] as const, { optional: true }) ?? 'CreationTime';
        const order = oneOf(b, 'SortOrder', ['Ascending', 'Descending'] as const, { optional: true }) ?? 'Ascending';
        const gname = group?.split('/').pop();
        let items = this.packages
          .values()
          .filter(
            (p) => (!gname || p.ModelPackageGroupName === gname) && (!status || p.ModelApprovalStatus === status),
          );
        items = sortRecords(items, sortBy === 'Name' ? 'ModelPackageName' : 'CreationTime', order);
        const { page, NextToken } = paginate(items, b, 10, 100);
        return {
          ModelPackageSummaryList: page.map((p) =>
            wire({
              ModelPackageName: p.ModelPackageName,
              ModelPackageGroupName: p.ModelPackageGroupName,
              ModelPackageVersion: p.ModelPackageVersion,
              ModelPackageArn: p.ModelPackageArn,
              ModelPackageDescription: p.ModelPackageDescription,
              CreationTime: p.CreationTime,
              ModelPackageStatus: p.ModelPackageStatus,
              ModelApprovalStatus: p.ModelApprovalStatus,
            }),
          ),
          NextToken,
        };
      },
      UpdateModelPackage: (b) => {
        const ref = str(b, 'ModelPackageArn', { min: 1, max: 2048 });
        const p = this.pkg(ref);
        const status = oneOf(b, 'ModelApprovalStatus', APPROVAL, { optional: true });
        const desc = optStr(b, 'ApprovalDescription', { max: 1024 });
        const props =
          b.CustomerMetadataProperties === undefined
            ? undefined
            : strMap(b, 'CustomerMetadataProperties', { maxEntries: 50, maxKey: 128, maxValue: 256 });
        const remove = Array.isArray(b.CustomerMetadataPropertiesToRemove)
          ? (b.CustomerMetadataPropertiesToRemove as string[])
          : [];
        this.packages.update(p.ModelPackageArn, (r) => {
          if (status) r.ModelApprovalStatus = status;
          if (desc !== undefined) r.ApprovalDescription = desc;
          if (props || remove.length) {
            const merged = { ...(r.CustomerMetadataProperties ?? {}), ...(props ?? {}) };
            for (const k of remove) delete merged[k];
            r.CustomerMetadataProperties = merged;
          }
          r.LastModifiedTime = now();
        });
        return { ModelPackageArn: p.ModelPackageArn };
      },
    };
  }

  private create(b: Body): unknown {
    const groupRef = optStr(b, 'ModelPackageGroupName', { max: 170 });
    if (!groupRef)
      throw invalid(
        '1 validation error detected: the local service supports versioned model packages only: ModelPackageGroupName is required',
      );
    const groupName = groupRef.split('/').pop() as string;
    const g = this.group(groupName);
    const clientToken = optStr(b, 'ClientToken', { min: 1, max: 36 });
    const { ClientToken: _t, Tags: _tags, ...request } = b;
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    if (clientToken) {
      const earlier = this.packages
        .values()
        .find((p) => p.ModelPackageGroupName === groupName && p._clientToken === clientToken);
      if (earlier) {
        if (earlier._requestHash !== requestHash)
          throw invalid(`ClientToken ${clientToken} was already used with a different request.`);
        return { ModelPackageArn: earlier.ModelPackageArn };
      }
    }
    const spec = optObj(b.InferenceSpecification, 'InferenceSpecification');
    if (spec)
      obj(
        spec.Containers && Array.isArray(spec.Containers) ? spec.Containers[0] : undefined,
        'InferenceSpecification.Containers.1.member',
      );
    const status = (oneOf(b, 'ModelApprovalStatus', APPROVAL, { optional: true }) ??
      'PendingManualApproval') as Approval;
    const version = g._nextVersion;
    this.groups.update(groupName, (r) => {
      r._nextVersion += 1;
    });
    const pkgArn = arn(`model-package/${groupName.toLowerCase()}/${version}`);
    const t = now();
    this.packages.put(pkgArn, {
      ModelPackageName: groupName,
      ModelPackageGroupName: groupName,
      ModelPackageVersion: version,
      ModelPackageArn: pkgArn,
      ModelPackageDescription: optStr(b, 'ModelPackageDescription', { max: 1024 }),
      CreationTime: t,
      LastModifiedTime: t,
      InferenceSpecification: spec,
      ModelPackageStatus: 'Completed',
      ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
      ModelApprovalStatus: status,
      CustomerMetadataProperties:
        b.CustomerMetadataProperties === undefined
          ? undefined
          : strMap(b, 'CustomerMetadataProperties', { maxEntries: 50, maxKey: 128, maxValue: 256 }),
      ModelMetrics: b.ModelMetrics,
      MetadataProperties: b.MetadataProperties,
      Domain: optStr(b, 'Domain'),
      Task: optStr(b, 'Task'),
      CertifyForMarketplace: b.CertifyForMarketplace === true,
      _clientToken: clientToken,
      _requestHash: requestHash,
    });
    this.tags.add(pkgArn, readTags(b));
    return { ModelPackageArn: pkgArn };
  }
}
