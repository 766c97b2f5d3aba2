import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PipelineSpecInput, validateSpec } from '../../../contracts';

const example = (name: string): PipelineSpecInput =>
  JSON.parse(readFileSync(join(__dirname, '../../../examples', name), 'utf8'));
const minimal: PipelineSpecInput = {
  pipelineName: 'lm',
  roleArn: 'arn:aws:iam::123456789012:role/SageMaker',
  bucket: 'my-bucket',
  image: { repository: 'jax-lm', codeBuild: { serviceRoleArn: 'arn:aws:iam::123456789012:role/CodeBuildImageRole' } },
  data: { source: { s3Uri: 's3://data/lm/' } },
  registry: { modelPackageGroup: 'lm' },
  deployment: { endpointName: 'lm' },
};
const issuesOf = (spec: unknown) => {
  const r = validateSpec(spec);
  if (r.ok) throw new Error('expected the spec to be invalid');
  return r.issues;
};
const withChange = (patch: (s: Record<string, any>) => void) => {
  const spec = structuredClone(minimal) as Record<string, any>;
  patch(spec);
  return spec;
};

describe('pipeline spec', () => {
  it.each(['pipeline.local.json', 'pipeline.aws.json', 'pipeline.user-code.local.json'])(
    'accepts examples/%s',
    (file) => {
      expect(validateSpec(example(file)).ok).toBe(true);
    },
  );

  it('fills defaults for a minimal spec: 4 x ml.p4de.24xlarge, blue/green canary, cost guard', () => {
    const r = validateSpec(minimal);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.training).toMatchObject({ instanceType: 'ml.p4de.24xlarge', instanceCount: 4 });
    expect(r.spec.training.metricDefinitions.map((m) => m.name)).toContain('val_loss');
    expect(r.spec.tuning.enabled).toBe(false);
    expect(r.spec.deployment.blueGreen.trafficRouting.type).toBe('CANARY');
    expect(r.spec.registry.approval.policy).toBe('auto');
    expect(r.spec.costGuard).toEqual({ maxSpendUsd: 5000, override: false, overspendFactor: 1 });
  });

  it('rejects unknown keys anywhere, naming them', () => {
    const issues = issuesOf(
      withChange((s) => {
        s.training = { instanceCont: 2 };
      }),
    );
    expect(issues).toContainEqual({ path: '$.training', message: 'unknown key "instanceCont"' });
  });

  it('lists every bad field by JSON path', () => {
    const issues = issuesOf({
      ...minimal,
      pipelineName: 'has space',
      bucket: 'UPPER',
      training: { instanceCount: 0, instanceType: 'ml.nope' },
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['$.pipelineName', '$.bucket', '$.training.instanceCount', '$.training.instanceType']),
    );
    expect(issues.find((i) => i.path === '$.training.instanceType')?.message).toMatch(
      /unknown training instance type "ml.nope"/,
    );
  });

  it('names missing required sections', () => {
    expect(issuesOf({ pipelineName: 'x' })).toContainEqual({ path: '$.roleArn', message: 'required (string)' });
  });

  it.each([
    [
      'a runtime over 28 days',
      (s: any) => {
        s.training = { maxRuntimeSeconds: 28 * 86400 + 1 };
      },
      '$.training.maxRuntimeSeconds',
    ],
    [
      'spot without a long enough wait',
      (s: any) => {
        s.training = { spot: { enabled: true, maxWaitSeconds: 10 } };
      },
      '$.training.spot.maxWaitSeconds',
    ],
    [
      '101 hyperparameters',
      (s: any) => {
        s.training = { hyperparameters: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`h${i}`, i])) };
      },
      '$.training.hyperparameters',
    ],
    [
      'a 2501-character hyperparameter',
      (s: any) => {
        s.training = { hyperparameters: { a: 'x'.repeat(2501) } };
      },
      '$.training.hyperparameters.a',
    ],
    [
      '41 metric definitions',
      (s: any) => {
        s.training = { metricDefinitions: Array.from({ length: 41 }, (_, i) => ({ name: `m${i}`, regex: 'x' })) };
      },
      '$.training.metricDefinitions',
    ],
    [
      '31 continuous ranges',
      (s: any) => {
        s.tuning = {
          ranges: { continuous: Array.from({ length: 31 }, (_, i) => ({ name: `r${i}`, min: 0, max: 1 })) },
        };
      },
      '$.tuning.ranges.continuous',
    ],
    [
      'a canary over 50%',
      (s: any) => {
        s.deployment.blueGreen = {
          trafficRouting: { type: 'CANARY', canarySize: { type: 'CAPACITY_PERCENT', value: 60 } },
        };
      },
      '$.deployment.blueGreen.trafficRouting.canarySize.value',
    ],
    [
      'a linear step under 10%',
      (s: any) => {
        s.deployment.blueGreen = {
          trafficRouting: { type: 'LINEAR', linearStepSize: { type: 'CAPACITY_PERCENT', value: 5 } },
        };
      },
      '$.deployment.blueGreen.trafficRouting.linearStepSize.value',
    ],
    [
      'a wait interval over an hour',
      (s: any) => {
        s.deployment.blueGreen = {
          trafficRouting: {
            type: 'CANARY',
            canarySize: { type: 'CAPACITY_PERCENT', value: 10 },
            waitIntervalSeconds: 3601,
          },
        };
      },
      '$.deployment.blueGreen.trafficRouting.waitIntervalSeconds',
    ],
    [
      'a max execution timeout under 600 s',
      (s: any) => {
        s.deployment.blueGreen = { maximumExecutionTimeoutSeconds: 599 };
      },
      '$.deployment.blueGreen.maximumExecutionTimeoutSeconds',
    ],
    [
      '11 rollback alarms',
      (s: any) => {
        s.deployment.rollback = { extraAlarmNames: Array.from({ length: 9 }, (_, i) => `a${i}`) };
      },
      '$.deployment.rollback.extraAlarmNames',
    ],
    [
      'an objective that no metric definition produces',
      (s: any) => {
        s.objective = { metricName: 'accuracy' };
      },
      '$.objective.metricName',
    ],
    [
      'a tuned hyperparameter that is also static',
      (s: any) => {
        s.training = { hyperparameters: { learning_rate: 0.1 } };
        s.tuning = { ranges: { continuous: [{ name: 'learning_rate', min: 0.001, max: 0.01 }] } };
      },
      '$.tuning.ranges',
    ],
    [
      'tuning on without ranges',
      (s: any) => {
        s.tuning = { enabled: true };
      },
      '$.tuning.ranges',
    ],
    [
      'a data source with both or neither kind',
      (s: any) => {
        s.data = { source: {} };
      },
      '$.data.source',
    ],
    [
      'a pipeline name too long for resource names',
      (s: any) => {
        s.pipelineName = 'p'.repeat(21);
      },
      '$.pipelineName',
    ],
  ])('rejects %s', (_label, patch, path) => {
    expect(issuesOf(withChange(patch)).map((i) => i.path)).toContain(path);
  });

  describe('code sections (script mode)', () => {
    const code = (sourceDir: string, entryPoint: string) =>
      withChange((s) => {
        s.training = { code: { sourceDir, entryPoint } };
      });
    it.each([
      ['an entry point that is not Python', 'src', 'run.sh', '$.training.code.entryPoint', /Python file/],
      ['an entry point outside the directory', 'src', '../train.py', '$.training.code.entryPoint', /inside sourceDir/],
      ['an absolute entry point', 'src', '/etc/train.py', '$.training.code.entryPoint', /inside sourceDir/],
      ['an S3 source that is not a .tar.gz', 's3://bkt/code/', 'train.py', '$.training.code.sourceDir', /\.tar\.gz/],
    ])('refuses %s, naming the field', (_, dir, entry, path, message) => {
      const issues = issuesOf(code(dir, entry));
      expect(issues).toEqual([{ path, message: expect.stringMatching(message) }]);
    });

    it('accepts a directory or an s3:// sourcedir.tar.gz', () => {
      expect(validateSpec(code('src', 'nested/train.py')).ok).toBe(true);
      expect(validateSpec(code('s3://bkt/code/sourcedir.tar.gz', 'train.py')).ok).toBe(true);
    });

    it("keeps the SDK's script-mode hyperparameters for the pipeline and counts them in SageMaker's 100", () => {
      const reserved = issuesOf(
        withChange((s) => {
          s.training = {
            code: { sourceDir: 'src', entryPoint: 'train.py' },
            hyperparameters: { sagemaker_program: 'x' },
          };
        }),
      );
      expect(reserved).toEqual([
        { path: '$.training.hyperparameters.sagemaker_program', message: expect.stringMatching(/set by the pipeline/) },
      ]);
      const many = Object.fromEntries(Array.from({ length: 96 }, (_, i) => [`h${i}`, i]));
      const full = issuesOf(
        withChange((s) => {
          s.training = { code: { sourceDir: 'src', entryPoint: 'train.py' }, hyperparameters: many };
        }),
      );
      expect(full).toEqual([{ path: '$.training.hyperparameters', message: expect.stringMatching(/at most 95/) }]);
      // Without code the image's trainer runs and all 100 are the user's.
      expect(validateSpec(withChange((s) => (s.training = { hyperparameters: many }))).ok).toBe(true);
    });
  });
});

describe('rollback alarm periods and training retries (issue 11)', () => {
  it.each([10, 30])(
    'refuses a %i s rollback period: SageMaker publishes endpoint metrics once a minute',
    (periodSeconds) => {
      const issues = issuesOf(withChange((s) => (s.deployment.rollback = { periodSeconds })));
      expect(issues).toEqual([
        {
          path: '$.deployment.rollback.periodSeconds',
          message: expect.stringMatching(
            /^must be a multiple of 60 s, got \d+: SageMaker publishes endpoint metrics once a minute/,
          ),
        },
      ]);
    },
  );

  it.each([45, 90, 7200])('refuses %i s', (periodSeconds) => {
    expect(issuesOf(withChange((s) => (s.deployment.rollback = { periodSeconds }))).map((i) => i.path)).toEqual([
      '$.deployment.rollback.periodSeconds',
    ]);
  });

  it('accepts whole minutes, and a workflow replaying an older run may still parse 10 s (validateSpec legacy)', () => {
    expect(validateSpec(withChange((s) => (s.deployment.rollback = { periodSeconds: 300 }))).ok).toBe(true);
    expect(
      validateSpec(
        withChange((s) => (s.deployment.rollback = { periodSeconds: 10 })),
        { legacy: true },
      ).ok,
    ).toBe(true);
  });

  it('takes SageMaker managed retries for training (1-30 attempts)', () => {
    const r = validateSpec(withChange((s) => (s.training = { retryStrategy: { maximumRetryAttempts: 3 } })));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.training.retryStrategy).toEqual({ maximumRetryAttempts: 3 });
    expect(issuesOf(withChange((s) => (s.training = { retryStrategy: { maximumRetryAttempts: 31 } })))[0]?.path).toBe(
      '$.training.retryStrategy.maximumRetryAttempts',
    );
  });
});

describe('image.codeBuild.serviceRoleArn', () => {
  it('is required: CodeBuild refuses CreateProject without a service role', () => {
    const spec = structuredClone(minimal) as Record<string, any>;
    delete spec.image.codeBuild;
    const r = validateSpec(spec);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toEqual([{ path: '$.image.codeBuild.serviceRoleArn', message: 'required (string)' }]);
  });
});

describe("tuning ranges within SageMaker's documented limits (constraint inventory)", () => {
  const cont = (n: number, extra: Record<string, unknown> = {}) =>
    Array.from({ length: n }, (_, i) => ({ name: `c${i}`, min: 0, max: 0.5, ...extra }));
  const int = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `i${i}`, min: 1, max: 9 }));
  const tuning = (ranges: Record<string, unknown>, hyperparameters?: Record<string, string>) =>
    withChange((s) => {
      s.tuning = { enabled: true, ranges };
      if (hyperparameters) s.training = { hyperparameters };
    });

  it('refuses more than 30 ranges in all (API_ParameterRanges), each kind within its own 30', () => {
    expect(issuesOf(tuning({ continuous: cont(16), integer: int(15) }))).toContainEqual({
      path: '$.tuning.ranges',
      message: "at most 30 ranges in all (SageMaker's limit for a tuning job), got 31",
    });
    expect(validateSpec(tuning({ continuous: cont(15), integer: int(15) })).ok).toBe(true);
  });

  it('refuses ReverseLogarithmic scaling outside 0 <= x < 1 (API_ContinuousParameterRange)', () => {
    expect(issuesOf(tuning({ continuous: cont(1, { max: 1, scaling: 'ReverseLogarithmic' }) }))).toContainEqual({
      path: '$.tuning.ranges.continuous[0].scaling',
      message: 'ReverseLogarithmic scaling needs 0 <= min < max < 1',
    });
    expect(validateSpec(tuning({ continuous: cont(1, { max: 0.99, scaling: 'ReverseLogarithmic' }) })).ok).toBe(true);
  });

  it('refuses more than 100 hyperparameters in all: static, tuned and the one SageMaker adds', () => {
    const statics = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, '1']));
    const issues = issuesOf(tuning({ continuous: cont(2) }, statics(98)));
    expect(issues.find((i) => i.path === '$.tuning.ranges')?.message).toMatch(/at most 100 hyperparameters in all/);
    expect(validateSpec(tuning({ continuous: cont(2) }, statics(97))).ok).toBe(true);
  });
});

describe('training.environment with tuning (issue 20)', () => {
  const env = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`VAR_${i}`, 'x']));
  const withEnv = (n: number, tuning: boolean) =>
    withChange((s) => {
      s.training = { environment: env(n) };
      s.tuning = tuning
        ? { enabled: true, ranges: { continuous: [{ name: 'learning_rate', min: 0.001, max: 0.01 }] } }
        : { enabled: false };
    });

  it("refuses more than 48 variables when tuning is on (a tuning job's TrainingJobDefinition.Environment limit)", () => {
    expect(issuesOf(withEnv(49, true))).toEqual([
      {
        path: '$.training.environment',
        message:
          "at most 48 environment variables when tuning is enabled (SageMaker's limit for a tuning job's TrainingJobDefinition.Environment), got 49",
      },
    ]);
  });

  it('accepts 48 with tuning, and up to 100 without it (a training job takes 100)', () => {
    expect(validateSpec(withEnv(48, true)).ok).toBe(true);
    expect(validateSpec(withEnv(100, false)).ok).toBe(true);
    // A run recorded before the rule replays with it (the workflow asks its patch): validateSpec legacy accepts it.
    expect(validateSpec(withEnv(49, true), { legacy: true }).ok).toBe(true);
  });
});

describe('evaluation sizing', () => {
  it('refuses a payload the serving container would answer with 413, naming the field', () => {
    const issues = issuesOf(
      withChange((s) => (s.evaluation = { enabled: true, input: { s3Uri: 's3://data/eval/' }, maxPayloadMb: 7 })),
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(
      /evaluation\.maxPayloadMb.*at most 6: the serving container refuses bodies over 6 MiB/,
    );
    expect(
      validateSpec(
        withChange((s) => (s.evaluation = { enabled: true, input: { s3Uri: 's3://data/eval/' }, maxPayloadMb: 6 })),
      ).ok,
    ).toBe(true);
  });

  it('takes the per-record time that sizes the invocation timeout, positive', () => {
    expect(
      validateSpec(
        withChange(
          (s) => (s.evaluation = { enabled: true, input: { s3Uri: 's3://data/eval/' }, secondsPerRecord: 0.02 }),
        ),
      ).ok,
    ).toBe(true);
    expect(
      issuesOf(
        withChange((s) => (s.evaluation = { enabled: true, input: { s3Uri: 's3://data/eval/' }, secondsPerRecord: 0 })),
      ).length,
    ).toBe(1);
  });
});
