/**
 * deployModel's first deployment: CreateEndpoint with the new config, followed to InService. Nothing served from the
 * endpoint before this run, so a cancel deletes the endpoint this run created (deleteCreatedEndpoint).
 */
import { type Deployment, followEndpoint } from './deployment';
import { createOptions, runJobStep } from './job-step';

/** Creates the endpoint (or re-attaches to the one an earlier attempt is creating) and returns its ARN. */
export async function deployNewEndpoint(deploying: Deployment): Promise<string> {
  const { endpointName: endpoint, endpointConfigName: config, tags } = deploying.input;
  const { created } = await runJobStep({
    status: deploying.status,
    creating: 'creating endpoint',
    create: () =>
      deploying.quick.createEndpoint.executeWithOptions(createOptions(`Create endpoint ${endpoint} with ${config}`), [
        { endpointName: endpoint, endpointConfigName: config, workflowId: deploying.workflowId, tags },
      ]),
    created: (ep) => {
      deploying.status.resources.endpointArn = ep.endpointArn;
    },
    ...followEndpoint(deploying, () => ({ previous: null, alarmNames: [] })),
    stop: async () => {
      const del = await deploying.quick.deleteCreatedEndpoint.executeWithOptions(
        { summary: `Delete endpoint ${endpoint}, created by this cancelled run` },
        [{ endpointName: endpoint, workflowId: deploying.workflowId }],
      );
      return del.deleted ? `endpoint ${endpoint} (deleted: created by this run)` : null;
    },
  });
  return created.endpointArn;
}
