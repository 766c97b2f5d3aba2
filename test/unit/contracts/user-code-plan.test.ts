/** How packed code reaches SageMaker: the SDK's script-mode hyperparameters and model environment, key for key. */
import { runResourceNames, validateSpec } from '../../../contracts';
import { trainingDefinition, tuneModelInput } from '../../../contracts/pipeline-plan';
import { type PackedCode, scriptModeHyperparameters, scriptModeModelEnvironment } from '../../../contracts/user-code';
import { resolveCodePaths } from '../../../worker/spec-file';

const code: PackedCode = {
  s3Uri: 's3://bkt/pipelines/p/code/abc/sourcedir.tar.gz',
  entryPoint: 'train.py',
  sha256: 'a'.repeat(64),
  fileCount: 2,
  bytes: 10,
  uploaded: true,
};

describe('script mode', () => {
  it("JSON-encodes every hyperparameter as the SDK's Estimator(source_dir=...) does", () => {
    expect(
      scriptModeHyperparameters(
        { 'learning-rate': 3e-4, epochs: 20, name: 'lm', bf16: true },
        code,
        'job-1',
        'eu-west-1',
      ),
    ).toEqual({
      'learning-rate': '0.0003',
      epochs: '20',
      name: '"lm"',
      bf16: 'true',
      sagemaker_program: '"train.py"',
      sagemaker_submit_directory: '"s3://bkt/pipelines/p/code/abc/sourcedir.tar.gz"',
      sagemaker_container_log_level: '20',
      sagemaker_job_name: '"job-1"',
      sagemaker_region: '"eu-west-1"',
    });
  });

  it("gives a repacked model the SDK's environment: the handler under /opt/ml/model/code", () => {
    expect(scriptModeModelEnvironment({ ...code, entryPoint: 'inference.py' }, undefined)).toEqual({
      SAGEMAKER_PROGRAM: 'inference.py',
      SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code',
      SAGEMAKER_CONTAINER_LOG_LEVEL: '20',
    });
  });

  it('names the training job in training and the tuning job in tuning', () => {
    const r = validateSpec({
      pipelineName: 'lm',
      roleArn: 'arn:aws:iam::123456789012:role/SageMaker',
      bucket: 'bkt',
      image: {
        repository: 'jax-lm',
        codeBuild: { serviceRoleArn: 'arn:aws:iam::123456789012:role/CodeBuildImageRole' },
      },
      data: { source: { s3Uri: 's3://data/lm/' } },
      training: { code: { sourceDir: 'src', entryPoint: 'train.py' }, hyperparameters: { steps: 10 } },
      tuning: { enabled: true, ranges: { continuous: [{ name: 'lr', min: 0.001, max: 0.1 }] } },
      registry: { modelPackageGroup: 'lm' },
      deployment: { endpointName: 'lm' },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const definition = trainingDefinition(r.spec, 'wf-1', 'img@sha256:' + '0'.repeat(64), {}, code);
    const tuned = tuneModelInput(r.spec, 'wf-1', definition);
    expect(definition.hyperparameters.sagemaker_job_name).toBe(JSON.stringify(runResourceNames('wf-1').trainingJob));
    expect(tuned.definition.hyperparameters.sagemaker_job_name).toBe(JSON.stringify(tuned.tuningJobName));
    expect(tuned.definition.hyperparameters.steps).toBe('10');
  });
});

describe('spec files', () => {
  it('resolves relative code paths against the spec file and leaves the rest alone', () => {
    const raw = {
      data: { source: { localPath: 'data' } },
      training: { code: { sourceDir: 'src', entryPoint: 'train.py' } },
      deployment: { code: { sourceDir: 's3://bkt/c.tar.gz', entryPoint: 'inference.py' } },
    };
    expect(resolveCodePaths(raw, '/work/specs')).toEqual({
      data: { source: { localPath: 'data' } },
      training: { code: { sourceDir: '/work/specs/src', entryPoint: 'train.py' } },
      deployment: { code: { sourceDir: 's3://bkt/c.tar.gz', entryPoint: 'inference.py' } },
    });
    expect(raw.training.code.sourceDir).toBe('src'); // a copy, not the input changed
  });

  it('resolves a local evaluation file against the spec file too', () => {
    expect(
      resolveCodePaths({ evaluation: { enabled: true, input: { localPath: 'eval/held-out.jsonl' } } }, '/w'),
    ).toEqual({
      evaluation: { enabled: true, input: { localPath: '/w/eval/held-out.jsonl' } },
    });
    const s3 = { evaluation: { input: { s3Uri: 's3://b/eval/' } } };
    expect(resolveCodePaths(s3, '/w')).toEqual(s3);
  });
});
