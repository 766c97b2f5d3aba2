/**
 * Every AWS operation the activities call (found in activities/*.ts: each `new XCommand(` and the client package it
 * is imported from) is in AWS's model, and a request without its required members is refused member by member,
 * as each operation's API reference page documents under "Required: Yes" (the pages are generated from the same
 * models: e.g. https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html).
 */
import { loadServiceModel } from '../../local/service/core/aws-models/botocore-models';
import { hasOperation, validateInput } from '../../local/service/core/aws-models/validate-request';
import { activityOperations } from './activity-operations';
import { constraintAt } from './conformance-service';

const operations = activityOperations();

test('the activities call the operations this suite covers', () => {
  // Sixty-odd operations over eight services; a new one joins the table below by itself.
  expect(operations.length).toBeGreaterThan(50);
  expect(new Set(operations.map((o) => o.service))).toEqual(
    new Set(['application-autoscaling', 'cloudwatch', 'logs', 'codebuild', 'ecr', 's3', 'sagemaker']),
  );
});

test.each(operations)(
  '$service $operation: in the model, and refused without its required members',
  ({ service, operation }) => {
    expect(hasOperation(service, operation)).toBe(true);
    const model = loadServiceModel(service);
    const input = model.operations[operation]?.input;
    const required = input ? (model.shapes[input.shape]?.required ?? []) : [];
    const v = validateInput(service, operation, {});
    if (required.length === 0) return expect(v.error).toBeUndefined();
    expect(v.error?.message).toMatch(new RegExp(`^${required.length} validation errors? detected: `));
    for (const member of required) {
      const memberPath = member.charAt(0).toLowerCase() + member.slice(1);
      expect({ member, constraint: constraintAt(v.error?.message ?? '', memberPath) }).toEqual({
        member,
        constraint: 'Member must not be null',
      });
    }
  },
);
