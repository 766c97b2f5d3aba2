/**
 * The local service's front door to AWS's models: every request of every operation is validated against the
 * operation's input shape in botocore's model before its handler runs, and refused with AWS's answer
 * (ValidationException / InvalidInputException / ValidationError with `N validation errors detected: …`, or
 * SerializationException for a value of the wrong JSON type). Members the model does not define are ignored, as
 * AWS ignores them, and logged once per operation and member so that a client sending them finds out.
 */
import { loadServiceModel } from './aws-models/botocore-models';
import { AwsError } from './protocol';
import {
  hasOperation,
  type ModelVerdict,
  type RestRequestParts,
  validateInput,
  validateRestInput,
} from './aws-models/validate-request';

/** Validates requests for the local service; `log` receives what AWS would silently skip. */
export class ModelGate {
  private readonly told = new Set<string>();

  /** Loads the models of the services it guards, so that missing models stop the service at start, saying why. */
  constructor(
    private readonly log: (line: string) => void,
    services: readonly string[] = ['sagemaker', 'sagemaker-runtime', 'codebuild'],
  ) {
    for (const service of services) loadServiceModel(service);
  }

  /** An AWS JSON 1.1 request body (`service` is botocore's name: `sagemaker`, `codebuild`). */
  json(service: string, operation: string, body: unknown): AwsError | undefined {
    if (!hasOperation(service, operation)) return this.noModel(service, operation);
    return this.answer(service, operation, validateInput(service, operation, body));
  }

  /**
   * A query-protocol request (IAM, STS), its form parameters already turned into the JSON shape (iam/query-body.ts):
   * every value arrives as a string; the operations served this way (iam-api.ts) take strings and lists of strings.
   */
  query(service: string, operation: string, body: Record<string, unknown>): AwsError | undefined {
    if (!hasOperation(service, operation)) return this.noModel(service, operation);
    return this.answer(service, operation, validateInput(service, operation, body));
  }

  /** A REST JSON request, its members gathered from path, headers, query and payload. */
  rest(service: string, operation: string, parts: RestRequestParts): AwsError | undefined {
    if (!hasOperation(service, operation)) return this.noModel(service, operation);
    return this.answer(service, operation, validateRestInput(service, operation, parts));
  }

  private answer(service: string, operation: string, verdict: ModelVerdict): AwsError | undefined {
    for (const member of verdict.unknownMembers)
      this.once(
        `${service}.${operation}.${member}`,
        `${service} ${operation}: ignored '${member}', a member AWS's model does not define (AWS ignores it too)`,
      );
    for (const pattern of verdict.uncheckedPatterns)
      this.once(
        `pattern ${pattern}`,
        `${service} ${operation}: pattern ${pattern} could not be checked here (see local/service/core/aws-models/patterns.ts); the value was let through`,
      );
    const e = verdict.error;
    return e ? new AwsError(e.code, e.message, e.status) : undefined;
  }

  /**
   * An operation the local service serves but the installed model lacks (older botocore): served unvalidated, said
   * once.
   */
  private noModel(service: string, operation: string): undefined {
    this.once(
      `${service}.${operation}`,
      `${service} ${operation}: not in the installed botocore model; served without model validation`,
    );
    return undefined;
  }

  private once(key: string, line: string): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    this.log(line);
  }
}
