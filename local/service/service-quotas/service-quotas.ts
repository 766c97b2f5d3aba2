/**
 * Service Quotas for local mode (AWS JSON 1.1, `X-Amz-Target: ServiceQuotasV20190624.<Operation>`), served by the local
 * service rather than moto: moto's servicequotas answers only ListAWSDefaultServiceQuotas and GetServiceQuota, from a
 * table without SageMaker. The local account answers like a new account: AWS's defaults
 * (contracts/sagemaker-quotas.generated.ts, the large GPU types at 0), plus the increases in local-account.json (the
 * demo's CPU types), plus LOCAL_SERVICE_QUOTAS (a JSON file of `{"<quota name or code>": value}`, read on every
 * request so a test can raise a quota while the service runs). Only SageMaker's instance quotas are kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SAGEMAKER_INSTANCE_QUOTAS } from '../../../contracts/sagemaker-quotas.generated';
import { ACCOUNT_ID, REGION } from '../../shared/account';
import { AwsError } from '../core/protocol';
import type { Body } from '../core/request-fields';

interface LocalAccountFile {
  applied: Record<string, number>;
  notInTable: Record<string, { code: string; defaultValue: number }>;
}

/** One quota as Service Quotas answers it. */
interface Quota {
  ServiceCode: string;
  ServiceName: string;
  QuotaArn: string;
  QuotaCode: string;
  QuotaName: string;
  Value: number;
  Unit: string;
  Adjustable: boolean;
  GlobalQuota: boolean;
}

const SERVICE_CODE = 'sagemaker';
const PAGE = 100;

const noSuchResource = (message: string) => new AwsError('NoSuchResourceException', message, 400);

export class ServiceQuotas {
  private readonly base: { name: string; code: string; value: number }[];

  constructor(
    accountFile = path.join(__dirname, 'local-account.json'),
    private readonly overridesFile = process.env.LOCAL_SERVICE_QUOTAS,
  ) {
    const account = JSON.parse(fs.readFileSync(accountFile, 'utf8')) as LocalAccountFile;
    const table = { ...SAGEMAKER_INSTANCE_QUOTAS, ...account.notInTable };
    this.base = Object.entries(table)
      .map(([name, q]) => ({ name, code: q.code, value: account.applied[name] ?? q.defaultValue }))
      .sort((a, b) => a.code.localeCompare(b.code));
  }

  /** Every quota with its current value (overrides read now). */
  private quotas(): Quota[] {
    let overrides: Record<string, number> = {};
    if (this.overridesFile) {
      try {
        overrides = JSON.parse(fs.readFileSync(this.overridesFile, 'utf8')) as Record<string, number>;
      } catch (err) {
        throw new AwsError(
          'ServiceException',
          `LOCAL_SERVICE_QUOTAS ${this.overridesFile}: ${(err as Error).message}`,
          500,
        );
      }
    }
    return this.base.map((q) => ({
      ServiceCode: SERVICE_CODE,
      ServiceName: 'Amazon SageMaker',
      QuotaArn: `arn:aws:servicequotas:${REGION}:${ACCOUNT_ID}:${SERVICE_CODE}/${q.code}`,
      QuotaCode: q.code,
      QuotaName: q.name,
      Value: overrides[q.code] ?? overrides[q.name] ?? q.value,
      Unit: 'None',
      Adjustable: true,
      GlobalQuota: false,
    }));
  }

  private service(body: Body): void {
    if (body.ServiceCode !== SERVICE_CODE)
      throw noSuchResource(
        `The request failed because the specified service does not exist. (local mode keeps ${SERVICE_CODE} only)`,
      );
  }

  handlers(): Record<string, (body: Body) => unknown> {
    return {
      GetServiceQuota: (body) => {
        this.service(body);
        const quota = this.quotas().find((quota) => quota.QuotaCode === body.QuotaCode);
        if (!quota) throw noSuchResource('The request failed because the specified quota does not exist.');
        return { Quota: quota };
      },
      ListServiceQuotas: (body) => {
        this.service(body);
        const all = this.quotas();
        const size = typeof body.MaxResults === 'number' ? body.MaxResults : PAGE;
        let start = 0;
        if (typeof body.NextToken === 'string') {
          start = Number(Buffer.from(body.NextToken, 'base64').toString('utf8'));
          if (!Number.isInteger(start) || start <= 0 || start >= all.length)
            throw new AwsError('InvalidPaginationTokenException', 'Invalid pagination token', 400);
        }
        const end = start + size;
        return {
          Quotas: all.slice(start, end),
          ...(end < all.length ? { NextToken: Buffer.from(String(end), 'utf8').toString('base64') } : {}),
        };
      },
    };
  }
}
