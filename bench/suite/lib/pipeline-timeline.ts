/**
 * Reads back where a finished pipeline run spent its time: each step's child workflow (start → close, from
 * Temporal), each job's terminal state (from the local service's Describe calls), and the next step's first AWS
 * call (from the local service's request log, or the next child's first activity start when that call goes to moto).
 */
import { BatchGetBuildsCommand, type CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { childWorkflowId } from '../../../contracts/names';
import { PIPELINE_STEPS, type PipelineSummary } from '../../../contracts/pipeline-plan';
import type { RequestLogEntry } from '../../../local/service/core/request-log';

/** One step's child workflow, in epoch ms. */
export interface StepSpan {
  step: string;
  start: number;
  close: number;
}

/** One job's hand-off: its terminal state in the local service, the step closing, and the next step's first call. */
export interface Handoff {
  job: string;
  step: string;
  terminal: number;
  stepClosed: number;
  next: string;
  nextCall: number;
  how: string;
}

export interface Timeline {
  workflowId: string;
  start: number;
  close: number;
  steps: StepSpan[];
  handoffs: Handoff[];
}

/** Start and close of each step that ran (steps that did not run, e.g. tuning when disabled, are left out). */
async function stepSpans(client: Client, workflowId: string): Promise<StepSpan[]> {
  const out: StepSpan[] = [];
  for (const step of PIPELINE_STEPS) {
    try {
      const d = await client.workflow.getHandle(childWorkflowId(workflowId, step)).describe();
      out.push({ step, start: d.startTime.getTime(), close: (d.closeTime ?? new Date()).getTime() });
    } catch {
      /* the step did not run */
    }
  }
  return out;
}

/** When the child workflow's first activity started (its first AWS call follows within milliseconds). */
async function firstActivityStart(client: Client, workflowId: string): Promise<number | undefined> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const e = history.events?.find((ev) => ev.activityTaskStartedEventAttributes);
  return e ? tsToMs(e.eventTime) : undefined;
}

/** The AWS clients and request log the timeline is read from. */
export interface TimelineSources {
  client: Client;
  sm: SageMakerClient;
  codebuild: CodeBuildClient;
  requests: RequestLogEntry[];
}

/** Builds the timeline of a finished run (call it right after the run, before another run changes the endpoint). */
export async function pipelineTimeline(
  src: TimelineSources,
  workflowId: string,
  summary: PipelineSummary,
  endpointName: string,
): Promise<Timeline> {
  const d = await src.client.workflow.getHandle(workflowId).describe();
  const start = d.startTime.getTime();
  const close = (d.closeTime ?? new Date()).getTime();
  const steps = await stepSpans(src.client, workflowId);
  const span = (step: string) => steps.find((s) => s.step === step);
  const after = (step: string) => steps[steps.findIndex((s) => s.step === step) + 1];

  /**
   * The next step's first call: the first request the local service logged after it started, else its first activity.
   */
  const nextCall = async (next: StepSpan | undefined): Promise<{ next: string; at: number; how: string }> => {
    if (!next) return { next: 'pipeline closed', at: close, how: 'Temporal: run closed' };
    const until = after(next.step)?.start ?? close;
    const logged = src.requests.find((r) => r.t >= next.start && r.t <= until);
    if (logged) return { next: `${next.step}: ${logged.op.split('.')[1]}`, at: logged.t, how: 'request log' };
    const act = await firstActivityStart(src.client, childWorkflowId(workflowId, next.step));
    return {
      next: `${next.step}: first activity`,
      at: act ?? next.start,
      how: 'Temporal: first activity started (its call goes to moto)',
    };
  };

  const handoffs: Handoff[] = [];
  const add = async (step: string, job: string, terminal: number | undefined) => {
    const s = span(step);
    if (!s || terminal === undefined) return;
    const n = await nextCall(after(step));
    handoffs.push({ job, step, terminal, stepClosed: s.close, next: n.next, nextCall: n.at, how: n.how });
  };

  // CodeBuild: the build the buildImage step polled last (absent when the image was reused).
  const build = span('buildImage');
  const buildId = build
    ? [...src.requests]
        .reverse()
        .find((r) => r.op.endsWith('.BatchGetBuilds') && r.t >= build.start && r.t <= build.close)?.name
    : undefined;
  if (buildId) {
    const b = (await src.codebuild.send(new BatchGetBuildsCommand({ ids: [buildId] }))).builds?.[0];
    await add('buildImage', `CodeBuild build ${b?.buildStatus ?? '?'}`, b?.endTime?.getTime());
  }
  if (summary.training) {
    const j = await src.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: summary.training.jobName }));
    await add('trainModel', `training job ${j.TrainingJobStatus}`, j.TrainingEndTime?.getTime());
  }
  if (summary.tuning) {
    const j = await src.sm.send(
      new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: summary.tuning.jobName }),
    );
    await add('tuneModel', `tuning job ${j.HyperParameterTuningJobStatus}`, j.HyperParameterTuningEndTime?.getTime());
  }
  if (summary.endpoint) {
    const e = await src.sm.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    await add(
      'deployModel',
      `endpoint ${summary.endpoint.action} → ${e.EndpointStatus}`,
      e.LastModifiedTime?.getTime(),
    );
  }
  return { workflowId, start, close, steps, handoffs };
}
