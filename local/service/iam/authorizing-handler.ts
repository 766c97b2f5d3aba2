/**
 * An AWS SDK request handler that authorizes each signed request as the gateway does (request-reading.ts,
 * enforcer.ts) before sending it to moto directly, and answers a refused one with AWS's error response, so the SDK
 * raises the same AccessDenied it would against AWS. The local service's clients for a role (what SageMaker and
 * CodeBuild do on a role's behalf) use it: no hop through the service's own port, and nothing to wait for at
 * shutdown.
 */
import { Readable } from 'node:stream';
import { buildQueryString, HttpResponse, type HttpRequest } from '@smithy/core/protocols';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, NodeHttpHandlerOptions } from '@smithy/types';
import type { IamEnforcer } from './enforcer';
import { bodyNeeded, readRequest, type RawRequest } from './request-reading';

function bodyBytes(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

export class AuthorizingHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly inner = new NodeHttpHandler();

  constructor(
    private readonly iam: IamEnforcer,
    private readonly onRefused: (message: string) => void = () => undefined,
  ) {}

  async handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
    const qs = buildQueryString(request.query ?? {});
    const raw: RawRequest = { method: request.method, url: `${request.path}${qs ? `?${qs}` : ''}`, headers };
    const reading = readRequest(raw, bodyNeeded(raw) ? bodyBytes(request.body) : undefined);
    const refusal = await this.iam.authorizeRequest(raw, reading);
    if (refusal) {
      this.onRefused(`${reading.label}: ${refusal.reason}`);
      const r = refusal.response;
      return {
        response: new HttpResponse({ statusCode: r.status, headers: r.headers, body: Readable.from([r.body]) }),
      };
    }
    return this.inner.handle(request, options);
  }

  updateHttpClientConfig(key: keyof NodeHttpHandlerOptions, value: NodeHttpHandlerOptions[typeof key]): void {
    this.inner.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): NodeHttpHandlerOptions {
    return this.inner.httpHandlerConfigs();
  }

  destroy(): void {
    this.inner.destroy();
  }
}
