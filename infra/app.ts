/**
 * Synthesis of the pipeline's stack, with cdk-nag's AWS Solutions checks applied: the CDK CLI's app
 * (infra/bin/cdk-app.ts), `npm run infra:synth` (infra/synth.ts) and local mode's deployment all come through here.
 */
import { App, Validations } from 'aws-cdk-lib';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PipelineStack, STACK_NAME } from './lib/pipeline-stack';

/** Options of a synthesis. */
export interface SynthOptions {
  /** Where the cloud assembly goes (default: a temp directory chosen by the CDK). */
  outdir?: string;
  /** Directory of the policy documents (default: the repository's iam/). */
  policyDir?: string;
  /**
   * Judge the template (cdk-nag, the CDK's CloudFormation validation): default true. Local mode's deployment
   * synthesizes the template `npm test` has judged, without judging it again.
   */
  checks?: boolean;
}

/** The App with the stack and cdk-nag's checks on it (the CDK CLI synthesizes this). */
export function pipelineApp(opts: SynthOptions = {}): App {
  const app = new App({
    outdir: opts.outdir,
    // Server access logs are delivered under a bucket policy (AWS's recommendation), not the log-delivery ACL.
    context: { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true },
  });
  new PipelineStack(app, STACK_NAME, { policyDir: opts.policyDir });
  if (opts.checks !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}

/** Synthesizes the stack: its template, the template file, and every unsuppressed cdk-nag finding. */
export function synthesize(opts: SynthOptions = {}): { template: Record<string, unknown>; templateFile: string } {
  // The CDK's own CloudFormation validation runs unless CDK_VALIDATION is "false" (it is slow: skipped unjudged).
  if (opts.checks === false) process.env.CDK_VALIDATION = 'false';
  const assembly = pipelineApp(opts).synth();
  const stack = assembly.getStackByName(STACK_NAME) as CloudFormationStackArtifact;
  return { template: stack.template as Record<string, unknown>, templateFile: stack.templateFullPath };
}
