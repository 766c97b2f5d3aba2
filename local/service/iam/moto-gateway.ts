/**
 * The gateway in front of moto: every AWS request the local service does not serve itself (S3, ECR, CloudWatch,
 * CloudWatch Logs, Application Auto Scaling, STS, IAM) is authorized (request-reading.ts, enforcer.ts), then
 * forwarded to moto unchanged (a few IAM and STS calls local mode answers itself: iam-api.ts) and moto's answer
 * streamed back (status, headers and body as moto sent them). Only
 * what authorization needs is buffered: S3 bodies stream through (DeleteObjects' key list aside).
 */
import http from 'node:http';
import { enforceGatewayRules } from '../core/documented-rules';
import { AwsError, readBody } from '../core/protocol';
import { errorResponse, sendRefusal } from './denial';
import type { IamEnforcer, ResourceTags } from './enforcer';
import type { LocalIamApi } from './iam-api';
import { requestCredentials } from './request-credentials';
import { bodyNeeded, readRequest, type RawRequest } from './request-reading';

export class MotoGateway {
  private readonly target: URL;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    motoEndpoint: string,
    private readonly iam: IamEnforcer | undefined,
    private readonly log: (msg: string) => void = () => undefined,
    /** Tags of resources the local service keeps (a gateway call can depend on them, e.g. autoscaling's checks). */
    private readonly tags?: ResourceTags,
    /** The IAM and STS calls local mode answers itself (iam-api.ts), after authorization. */
    private readonly local?: LocalIamApi,
  ) {
    this.target = new URL(motoEndpoint);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Authorizes and forwards one request. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw: RawRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    // moto's own dashboard and reset API are not AWS APIs.
    if (raw.url.startsWith('/moto-api')) return this.forward(req, res);
    const body = bodyNeeded(raw) ? await readBody(req) : undefined;
    // Read always: the documented rules of moto's APIs apply with IAM enforcement off too.
    const reading = readRequest(raw, body);
    if (this.iam) {
      const refusal = await this.iam.authorizeRequest(raw, reading, this.tags);
      if (refusal) {
        this.log(`IAM: refused ${reading.label}: ${refusal.reason}`);
        return sendRefusal(res, refusal.response);
      }
    }
    if (reading.call) {
      try {
        await enforceGatewayRules(reading.call);
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        this.log(`documented rule: refused ${reading.label}: ${err.message}`);
        return sendRefusal(res, errorResponse(err, reading.protocol, { contentType: reading.contentType }));
      }
    }
    const answer = this.local?.answer(reading, requestCredentials(raw.headers));
    if (answer) return sendRefusal(res, answer);
    return this.forward(req, res, body);
  }

  /** Sends the request on to moto (the buffered body if read, else the stream) and streams the answer back. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: this.target.host };
      delete headers.connection;
      delete headers['keep-alive'];
      // Node answered the client's `Expect: 100-continue` already; moto gets the body straight away.
      delete headers.expect;
      if (body) {
        delete headers['transfer-encoding'];
        headers['content-length'] = body.length;
      }
      const upstream = http.request(
        {
          protocol: this.target.protocol,
          hostname: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        (answer) => {
          const out = { ...answer.headers };
          delete out.connection;
          delete out['keep-alive'];
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      upstream.on('error', (err) => {
        this.log(`gateway: moto at ${this.target.origin} failed: ${err.message}`);
        if (!res.headersSent)
          sendRefusal(
            res,
            errorResponse(new AwsError('ServiceUnavailable', `moto is not answering: ${err.message}`, 503), 'json'),
          );
        else res.destroy();
        resolve();
      });
      if (body) upstream.end(body);
      else req.pipe(upstream);
    });
  }
}
