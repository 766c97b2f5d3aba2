/**
 * Model registry: model package groups and versioned model packages (CreateModelPackage with ClientToken
 * idempotency, Describe by name or ARN, List with approval filter and sorting, UpdateModelPackage approvals).
 */
import { createHash } from 'node:crypto';
import type { Ctx } from '../core/context';
import { arn, invalid, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { sortRecords } from './job-listing';
import { type Body, tags as readTags, unsupported } from '../core/request-fields';

type Approval = 'Approved' | 'Rejected' | 'PendingManualApproval';

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
      this.packages.get(ref) ??
      this.packages.values().find((modelPackage) => modelPackage.ModelPackageName === ref && !ref.includes('/'));
    if (!p) throw invalid(`ModelPackage ${ref} does not exist.`);
    return p;
  }

  /** A version's CustomerMetadataProperties by ARN or name (what the documented rules check an update against). */
  metadata(ref: string): Record<string, string> | undefined {
    const p =
      this.packages.get(ref) ??
      this.packages.values().find((modelPackage) => modelPackage.ModelPackageName === ref && !ref.includes('/'));
    return p ? (p.CustomerMetadataProperties ?? {}) : undefined;
  }

  /** What Search finds: groups and packages as Describe shows them, with their tags. */
  searchSources(): Record<'ModelPackageGroup' | 'ModelPackage', () => Record<string, unknown>[]> {
    return {
      ModelPackageGroup: () =>
        this.groups.values().map((group) => ({ ...wire(group), Tags: this.tags.get(group.ModelPackageGroupArn) })),
      ModelPackage: () =>
        this.packages
          .values()
          .map((modelPackage) => ({ ...wire(modelPackage), Tags: this.tags.get(modelPackage.ModelPackageArn) })),
    };
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      CreateModelPackageGroup: (b) => {
        const n = b.ModelPackageGroupName as string;
        const groupArn = arn(`model-package-group/${n.toLowerCase()}`);
        if (this.groups.has(n)) throw invalid(`Model Package Group already exists: ${groupArn}`);
        this.groups.put(n, {
          ModelPackageGroupName: n,
          ModelPackageGroupArn: groupArn,
          ModelPackageGroupDescription: b.ModelPackageGroupDescription as string | undefined,
          CreationTime: now(),
          ModelPackageGroupStatus: 'Completed',
          CreatedBy: {},
          _nextVersion: 1,
        });
        this.tags.add(groupArn, readTags(b));
        return { ModelPackageGroupArn: groupArn };
      },
      DescribeModelPackageGroup: (b) => wire(this.group(b.ModelPackageGroupName as string)),
      ListModelPackageGroups: (b) => {
        const contains = b.NameContains as string | undefined;
        const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Ascending';
        const items = sortRecords(
          this.groups.values().filter((group) => !contains || group.ModelPackageGroupName.includes(contains)),
          'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b, 10, 100);
        return {
          ModelPackageGroupSummaryList: page.map((group) => wire({ ...group, CreatedBy: undefined })),
          NextToken,
        };
      },
      DeleteModelPackageGroup: (b) => {
        const n = b.ModelPackageGroupName as string;
        this.group(n);
        if (this.packages.values().some((modelPackage) => modelPackage.ModelPackageGroupName === n))
          throw invalid(`Model Package Group ${n} still contains model packages; delete them first.`);
        this.groups.delete(n);
        return {};
      },
      CreateModelPackage: (b) => this.create(b),
      DescribeModelPackage: (b) => wire(this.pkg(b.ModelPackageName as string)),
      ListModelPackages: (b) => {
        const group = b.ModelPackageGroupName as string | undefined;
        if (group) this.group(group.split('/').pop() as string);
        const status = b.ModelApprovalStatus as Approval | undefined;
        const sortBy = (b.SortBy as string | undefined) ?? 'CreationTime';
        const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Ascending';
        const gname = group?.split('/').pop();
        let items = this.packages
          .values()
          .filter(
            (modelPackage) =>
              (!gname || modelPackage.ModelPackageGroupName === gname) &&
              (!status || modelPackage.ModelApprovalStatus === status),
          );
        items = sortRecords(items, sortBy === 'Name' ? 'ModelPackageName' : 'CreationTime', order);
        const { page, NextToken } = paginate(items, b, 10, 100);
        return {
          ModelPackageSummaryList: page.map((modelPackage) =>
            wire({
              ModelPackageName: modelPackage.ModelPackageName,
              ModelPackageGroupName: modelPackage.ModelPackageGroupName,
              ModelPackageVersion: modelPackage.ModelPackageVersion,
              ModelPackageArn: modelPackage.ModelPackageArn,
              ModelPackageDescription: modelPackage.ModelPackageDescription,
              CreationTime: modelPackage.CreationTime,
              ModelPackageStatus: modelPackage.ModelPackageStatus,
              ModelApprovalStatus: modelPackage.ModelApprovalStatus,
            }),
          ),
          NextToken,
        };
      },
      UpdateModelPackage: (b) => {
        const p = this.pkg(b.ModelPackageArn as string);
        const status = b.ModelApprovalStatus as Approval | undefined;
        const desc = b.ApprovalDescription as string | undefined;
        const props = b.CustomerMetadataProperties as Record<string, string> | undefined;
        const remove = Array.isArray(b.CustomerMetadataPropertiesToRemove)
          ? (b.CustomerMetadataPropertiesToRemove as string[])
          : [];
        this.packages.update(p.ModelPackageArn, (modelPackage) => {
          if (status) modelPackage.ModelApprovalStatus = status;
          if (desc !== undefined) modelPackage.ApprovalDescription = desc;
          if (props || remove.length) {
            const merged = { ...(modelPackage.CustomerMetadataProperties ?? {}), ...(props ?? {}) };
            for (const k of remove) delete merged[k];
            modelPackage.CustomerMetadataProperties = merged;
          }
          modelPackage.LastModifiedTime = now();
        });
        return { ModelPackageArn: p.ModelPackageArn };
      },
    };
  }

  private create(b: Body): unknown {
    const groupRef = b.ModelPackageGroupName as string | undefined;
    if (!groupRef)
      unsupported('modelPackageName', 'unversioned model packages: give ModelPackageGroupName for a versioned one');
    const groupName = groupRef.split('/').pop() as string;
    const g = this.group(groupName);
    const clientToken = b.ClientToken as string | undefined;
    const { ClientToken: _t, Tags: _tags, ...request } = b;
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    if (clientToken) {
      const earlier = this.packages
        .values()
        .find(
          (modelPackage) =>
            modelPackage.ModelPackageGroupName === groupName && modelPackage._clientToken === clientToken,
        );
      if (earlier) {
        if (earlier._requestHash !== requestHash)
          throw invalid(`ClientToken ${clientToken} was already used with a different request.`);
        return { ModelPackageArn: earlier.ModelPackageArn };
      }
    }
    const spec = b.InferenceSpecification as Body | undefined;
    const status = (b.ModelApprovalStatus as Approval | undefined) ?? 'PendingManualApproval';
    const version = g._nextVersion;
    this.groups.update(groupName, (group) => {
      group._nextVersion += 1;
    });
    const pkgArn = arn(`model-package/${groupName.toLowerCase()}/${version}`);
    const t = now();
    this.packages.put(pkgArn, {
      ModelPackageName: groupName,
      ModelPackageGroupName: groupName,
      ModelPackageVersion: version,
      ModelPackageArn: pkgArn,
      ModelPackageDescription: b.ModelPackageDescription as string | undefined,
      CreationTime: t,
      LastModifiedTime: t,
      InferenceSpecification: spec,
      ModelPackageStatus: 'Completed',
      ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
      ModelApprovalStatus: status,
      CustomerMetadataProperties: b.CustomerMetadataProperties as Record<string, string> | undefined,
      ModelMetrics: b.ModelMetrics,
      MetadataProperties: b.MetadataProperties,
      Domain: b.Domain as string | undefined,
      Task: b.Task as string | undefined,
      CertifyForMarketplace: b.CertifyForMarketplace === true,
      _clientToken: clientToken,
      _requestHash: requestHash,
    });
    this.tags.add(pkgArn, readTags(b));
    return { ModelPackageArn: pkgArn };
  }
}
