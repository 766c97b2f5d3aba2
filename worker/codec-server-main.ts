/**
 * `npm run codec-server`: serves the payload codec to the Temporal Web UI and CLI. Reads the worker's key variables
 * (PAYLOAD_ENCRYPTION_KEY, _KEY_ID, _OLD_KEYS) and CODEC_SERVER_PORT (8888), CODEC_SERVER_HOST (127.0.0.1: only this
 * machine can ask it to decrypt), CODEC_SERVER_CORS_ORIGINS (the UI's origins) and CODEC_SERVER_TOKEN (optional).
 */
import { createCodecServer } from './codec-server';
import { codecFromEnv } from './payload-codec';

function main(): void {
  const env = process.env;
  const codec = codecFromEnv(env);
  if (!codec) {
    console.error(
      'PAYLOAD_ENCRYPTION_KEY is not set: the codec server needs the same key as the worker (docs/operations.md, ' +
        '"Running against AWS", step 2: PAYLOAD_ENCRYPTION_KEY)',
    );
    process.exit(1);
  }
  const port = Number(env.CODEC_SERVER_PORT ?? 8888);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`CODEC_SERVER_PORT must be a port number, got ${JSON.stringify(env.CODEC_SERVER_PORT)}`);
    process.exit(1);
  }
  const host = env.CODEC_SERVER_HOST ?? '127.0.0.1';
  const allowedOrigins = (env.CODEC_SERVER_CORS_ORIGINS ?? 'http://localhost:8233,http://127.0.0.1:8233')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  const token = env.CODEC_SERVER_TOKEN || undefined;
  if (!token && host !== '127.0.0.1' && host !== 'localhost') {
    console.warn(
      `warning: listening on ${host} without CODEC_SERVER_TOKEN: anyone who can reach it can decrypt payloads`,
    );
  }
  const server = createCodecServer({ codec, allowedOrigins, token });
  server.listen(port, host, () => {
    console.log(
      `codec server on http://${host}:${port} (POST /encode, /decode; browsers from ${allowedOrigins.join(', ')})`,
    );
    console.log(
      `  Web UI: set the codec endpoint to http://${host}:${port} (local mode: temporal server start-dev --ui-codec-endpoint http://${host}:${port})`,
    );
    console.log(`  CLI:    temporal workflow show --workflow-id <id> --codec-endpoint http://${host}:${port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main();
