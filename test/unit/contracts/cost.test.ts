import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkCostGuard,
  estimateWorstCaseSpend,
  gridSize,
  PRICE_TABLE_DATE,
  PRICE_TABLE_REVIEWED,
  PRICE_USD_PER_HOUR,
  type PipelineSpec,
  type PipelineSpecInput,
  PipelineSpecSchema,
} from '../../../contracts';
import { ENDPOINT_INSTANCE_TYPES, TRAINING_INSTANCE_TYPES } from '../../../contracts/instance-types.generated';

const spec = (patch: Partial<PipelineSpecInput> = {}): PipelineSpec =>
  PipelineSpecSchema.parse({
    pipelineName: 'lm',
    roleArn: 'arn:aws:iam::123456789012:role/SageMaker',
    bucket: 'my-bucket',
    image: { repository: 'jax-lm', codeBuild: { serviceRoleArn: 'arn:aws:iam::123456789012:role/CodeBuildImageRole' } },
    data: { source: { s3Uri: 's3://data/lm/' } },
    registry: { modelPackageGroup: 'lm' },
    deployment: { endpointName: 'lm' },
    ...patch,
  });

describe('price table', () => {
  it('covers the types the issue names and the spec defaults, all from the generated enums', () => {
    const required = [
      'ml.p4de.24xlarge',
      'ml.p4d.24xlarge',
      'ml.p5.48xlarge',
      'ml.t3.medium',
      'ml.g5.xlarge',
      'ml.g6.xlarge',
      'ml.m5.xlarge',
      'ml.c5.xlarge',
      'ml.g5.2xlarge',
    ];
    for (const t of required) expect(PRICE_USD_PER_HOUR[t]).toBeGreaterThan(0);
    const known = new Set<string>([...TRAINING_INSTANCE_TYPES, ...ENDPOINT_INSTANCE_TYPES]);
    expect(Object.keys(PRICE_USD_PER_HOUR).filter((t) => !known.has(t))).toEqual([]);
  });
});

describe('estimateWorstCaseSpend', () => {
  it('defaults: 4 × p4de for 24 h, endpoint at max capacity for 24 h plus the blue/green overlap', () => {
    const e = estimateWorstCaseSpend(spec());
    const p4de = PRICE_USD_PER_HOUR['ml.p4de.24xlarge']!;
    const g5 = PRICE_USD_PER_HOUR['ml.g5.2xlarge']!;
    expect(e.lines.map((l) => l.item)).toEqual(['training', 'endpoint', 'endpoint-blue-green-overlap']);
    expect(e.lines[0]).toMatchObject({ instanceType: 'ml.p4de.24xlarge', instances: 4, hours: 24 });
    expect(e.lines[0]!.usd).toBeCloseTo(4 * 24 * p4de, 2);
    // autoscaling maxCapacity 4 > instanceCount 2
    expect(e.lines[1]).toMatchObject({ instanceType: 'ml.g5.2xlarge', instances: 4, hours: 24 });
    expect(e.lines[2]).toMatchObject({ item: 'endpoint-blue-green-overlap', instances: 4 });
    expect(e.lines[2]!.hours).toBeCloseTo((3600 + 300) / 3600, 2);
    expect(e.totalUsd).toBeCloseTo(4 * 24 * p4de + 4 * 24 * g5 + (4 * 3900 * g5) / 3600, 1);
    expect(e.unknownInstanceTypes).toEqual([]);
  });

  it('tuning: trials × trial instances × trial runtime; spot counts MaxWait', () => {
    const e = estimateWorstCaseSpend(
      spec({
        training: { spot: { enabled: true, maxWaitSeconds: 48 * 3600 } },
        tuning: {
          enabled: true,
          maxJobs: 10,
          maxParallelJobs: 2,
          ranges: { continuous: [{ name: 'lr', min: 0.001, max: 0.1 }] },
          resources: { instanceType: 'ml.g5.12xlarge', instanceCount: 1 },
          maxRuntimeSeconds: 3600,
        },
      }),
    );
    const training = e.lines.find((l) => l.item === 'training')!;
    const tuning = e.lines.find((l) => l.item === 'tuning')!;
    expect(training.hours).toBe(48);
    // spot trials may wait up to MaxWait
    expect(tuning).toMatchObject({ instanceType: 'ml.g5.12xlarge', instances: 10, hours: 48 });
    expect(e.lines[0]!.usd).toBeGreaterThanOrEqual(e.lines[1]!.usd);
  });

  it('Grid search counts every combination', () => {
    const ranges = {
      continuous: [],
      integer: [{ name: 'layers', min: 2, max: 4, scaling: 'Auto' as const }],
      categorical: [{ name: 'opt', values: ['a', 'b'] }],
    };
    expect(gridSize(ranges)).toBe(6);
    const e = estimateWorstCaseSpend(
      spec({ tuning: { enabled: true, strategy: 'Grid', maxJobs: 2, maxParallelJobs: 1, ranges } }),
    );
    expect(e.lines.find((l) => l.item === 'tuning')).toMatchObject({ instances: 6 * 4 });
  });

  it('counts the optional Processing and Transform jobs only when enabled, for their maximum runtimes', () => {
    const off = estimateWorstCaseSpend(spec());
    expect(off.lines.map((l) => l.item)).not.toContain('prepare-data');
    expect(off.lines.map((l) => l.item)).not.toContain('evaluation');
    const on = estimateWorstCaseSpend(
      spec({
        prepareData: { enabled: true, instanceType: 'ml.m5.xlarge', maxRuntimeSeconds: 7200 },
        evaluation: { enabled: true, instanceType: 'ml.m5.xlarge', instanceCount: 3, maxRuntimeSeconds: 3600 },
      }),
    );
    const rate = PRICE_USD_PER_HOUR['ml.m5.xlarge'] as number;
    expect(on.lines.find((l) => l.item === 'prepare-data')).toMatchObject({ instances: 1, hours: 2, usd: 2 * rate });
    expect(on.lines.find((l) => l.item === 'evaluation')).toMatchObject({
      instances: 3,
      hours: 1,
      usd: Math.round(3 * rate * 100) / 100,
    });
    expect(on.totalUsd).toBeCloseTo(off.totalUsd + 2 * rate + 3 * rate, 1);
  });
});

describe('checkCostGuard', () => {
  it('passes the default spec and names the largest contributors', () => {
    const r = checkCostGuard(spec());
    expect(r.ok).toBe(true);
    expect(r.top[0]!.item).toBe('training');
    expect(r.message).toMatch(/within the limit of \$5000\.00/);
  });

  it('refuses a run above maxSpendUsd unless overridden', () => {
    const big = {
      tuning: {
        enabled: true,
        maxJobs: 50,
        maxParallelJobs: 5,
        ranges: { continuous: [{ name: 'lr', min: 0.001, max: 0.1 }] },
      },
    };
    const r = checkCostGuard(spec(big));
    expect(r).toMatchObject({ ok: false, overridden: false });
    expect(r.estimateUsd).toBeGreaterThan(5000);
    expect(r.top[0]!.item).toBe('tuning');
    expect(r.message).toMatch(/is above the limit of \$5000\.00; top: tuning \$/);
    expect(checkCostGuard(spec({ ...big, costGuard: { override: true } }))).toMatchObject({
      ok: true,
      overridden: true,
    });
  });

  it('an instance type missing from the price table is an error naming it, even when overridden', () => {
    const r = checkCostGuard(
      spec({ training: { instanceType: 'ml.trn1.32xlarge', instanceCount: 1 }, costGuard: { override: true } }),
    );
    expect(r).toMatchObject({ ok: false, unknownInstanceTypes: ['ml.trn1.32xlarge'] });
    expect(r.message).toContain('ml.trn1.32xlarge');
  });

  it('prices both example specs', () => {
    for (const file of ['pipeline.local.json', 'pipeline.aws.json']) {
      const s = PipelineSpecSchema.parse(JSON.parse(readFileSync(join(__dirname, '../../../examples', file), 'utf8')));
      expect(estimateWorstCaseSpend(s).unknownInstanceTypes).toEqual([]);
    }
  });
});

describe('the price table', () => {
  it('prices ml.g5.16xlarge as SageMaker does, not at the EC2 rate (each size keeps EC2’s ratio within its family)', () => {
    // g5 and g6 share their size ladder; EC2 prices g5.16xlarge at 4.096 / 2.448 = 1.67 × g5.8xlarge.
    const g5 = PRICE_USD_PER_HOUR['ml.g5.16xlarge']! / PRICE_USD_PER_HOUR['ml.g5.8xlarge']!;
    const g6 = PRICE_USD_PER_HOUR['ml.g6.16xlarge']! / PRICE_USD_PER_HOUR['ml.g6.8xlarge']!;
    expect(g5).toBeCloseTo(4.096 / 2.448, 2);
    expect(Math.abs(g5 - g6) / g6).toBeLessThan(0.02);
    expect(PRICE_USD_PER_HOUR['ml.g5.16xlarge']).not.toBe(4.1);
  });

  it('is dated, with the day it was last reviewed', () => {
    expect(PRICE_TABLE_DATE).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICE_TABLE_REVIEWED >= PRICE_TABLE_DATE).toBe(true);
  });
});
