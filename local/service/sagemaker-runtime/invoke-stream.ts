/**
 * The relay behind InvokeEndpointWithResponseStream: POST the request to the container's `/invocations` and pass its
 * answer on as it arrives. SageMaker's streaming contract for the container is HTTP/1.1 chunked encoding
 * (https://aws.amazon.com/blogs/machine-learning/elevating-the-generative-ai-experience-introducing-streaming-support-in-amazon-sagemaker-hosting/);
 * each piece the container sends becomes one `PayloadPart` event.
 *
 *  - no answer head within 60 s, or the container unreachable: InternalFailure (500), as InvokeEndpoint;
 *  - a non-2xx answer: ModelError (424) with the container's status and message, before any event;
 *  - a 2xx answer: HTTP 200 `application/vnd.amazon.eventstream` with `X-Amzn-SageMaker-Content-Type` (the container's
 *    Content-Type) and `x-Amzn-Invoked-Production-Variant`, then the parts;
 *  - the container's connection closing before its answer is complete: a `ModelStreamError` event (StreamBroken);
 *  - no new part for STREAM_IDLE_MS: a `ModelStreamError` event (ModelInvocationTimeExceeded). The idle limit is local
 *    mode's choice, not a documented AWS number;
 *  - the caller hanging up: the request to the container is aborted, so the model can stop generating.
 */
import http from 'node:http';
import type { Ctx } from '../core/context';
import { requestId, sendError } from '../core/protocol';
import { modelStreamError, payloadPart } from './event-stream';
import { containerUnreachable, elapsedUs, modelError, type Target } from './target';

const HEAD_TIMEOUT_MS = 60_000;
const STREAM_IDLE_MS = Number(process.env.LOCAL_RUNTIME_STREAM_IDLE_MS ?? 60_000);

export function relayStream(
  ctx: Ctx,
  target: Target,
  body: Buffer,
  headers: Record<string, string>,
  res: http.ServerResponse,
): Promise<void> {
  const { endpointName, variant, instance } = target;
  const label = `${endpointName}/${variant.spec.VariantName}`;
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    let settled = false;
    /** status undefined: nothing to book (the caller left; the model did nothing wrong). */
    const finish = (status: number | undefined, note: string): void => {
      if (settled) return;
      settled = true;
      const latencyUs = elapsedUs(started);
      if (status !== undefined) target.record(status, latencyUs);
      ctx.log(`invoke-stream ${label} ${status ?? '-'} ${Math.round(latencyUs / 1000)} ms${note}`);
      resolve();
    };
    const upstream = http.request({
      host: '127.0.0.1',
      port: instance.port,
      method: 'POST',
      path: '/invocations',
      headers: { ...headers, 'content-length': body.length },
    });
    const headTimer = setTimeout(
      () => upstream.destroy(new Error(`the model did not answer within ${HEAD_TIMEOUT_MS / 1000} s`)),
      HEAD_TIMEOUT_MS,
    );
    upstream.on('error', (err) => {
      clearTimeout(headTimer);
      if (res.headersSent) return; // the answer's own close handler reports it
      sendError(res, containerUnreachable(variant, err), 'application/json');
      finish(500, ` (container unreachable: ${err.message})`);
    });
    // The caller left: stop the container's work too.
    res.on('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        finish(undefined, ' (the caller closed the stream)');
      }
    });
    upstream.on('response', (answer) => {
      clearTimeout(headTimer);
      const status = answer.statusCode ?? 500;
      if (status < 200 || status >= 300) {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          sendError(res, modelError(endpointName, status, Buffer.concat(chunks)), 'application/json');
          finish(status, ' (ModelError to the caller)');
        });
        return;
      }
      const out: http.OutgoingHttpHeaders = {
        'content-type': 'application/vnd.amazon.eventstream',
        'x-amzn-sagemaker-content-type': answer.headers['content-type'] ?? 'application/octet-stream',
        'x-amzn-invoked-production-variant': variant.spec.VariantName,
        'x-amzn-requestid': requestId(),
      };
      const custom = answer.headers['x-amzn-sagemaker-custom-attributes'];
      if (custom) out['x-amzn-sagemaker-custom-attributes'] = custom;
      res.writeHead(200, out);
      res.flushHeaders();
      let idle: NodeJS.Timeout | undefined;
      let failure: Buffer | undefined;
      const armIdle = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          failure = modelStreamError(
            'ModelInvocationTimeExceeded',
            `Your model ${variant.spec.VariantName} did not send the next part of the inference response within ${STREAM_IDLE_MS / 1000} s.`,
          );
          answer.destroy();
        }, STREAM_IDLE_MS);
      };
      armIdle();
      answer.on('data', (chunk: Buffer) => {
        armIdle();
        // Back-pressure: a slow caller pauses the container's socket instead of buffering its whole answer here.
        if (!res.write(payloadPart(chunk))) {
          answer.pause();
          res.once('drain', () => answer.resume());
        }
      });
      answer.on('error', () => undefined); // 'close' below decides what the caller sees
      answer.on('close', () => {
        clearTimeout(idle);
        if (res.writableEnded || res.destroyed) return;
        if (!answer.complete && !failure) {
          failure = modelStreamError(
            'StreamBroken',
            `The connection to your model ${variant.spec.VariantName} closed before it finished sending the inference response.`,
          );
        }
        if (failure) {
          res.end(failure);
          finish(500, ' (ModelStreamError in the stream)');
        } else {
          res.end();
          finish(status, '');
        }
      });
    });
    upstream.end(body);
  });
}
