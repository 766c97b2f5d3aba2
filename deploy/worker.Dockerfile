# The pipeline's Temporal worker as an image (`npm run worker:image`, which stages the context with
# scripts/worker-image/stage-context.ts and builds this with podman). Nothing is downloaded here: the context holds the
# pinned Node binary, production node_modules, the worker's source, the prebuilt workflow bundle and the CodeBuild
# build context. Configure it with the variables of docs/operations.md ("Running against AWS") (TEMPORAL_*, AWS_*).
ARG BASE_IMAGE=localhost/debian-node-base:bookworm-tini
FROM ${BASE_IMAGE}
ARG BUILD_ID=unknown
LABEL org.opencontainers.image.title="jaxsm-worker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.temporal.build-id="${BUILD_ID}"
COPY node /usr/local/bin/node
# A fixed numeric user, so orchestrators can check runAsNonRoot without reading /etc/passwd.
RUN echo 'worker:x:10001:10001:pipeline worker:/app:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'worker:x:10001:' >> /etc/group \
 && node --version
# Owned by root and read-only to the worker: the code cannot change under a running worker.
COPY app /app
WORKDIR /app
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    PIPELINE_SPEC_DIR=/app \
    WORKER_HEALTH_PORT=8080 \
    WORKER_HEALTH_HOST=0.0.0.0
USER 10001:10001
EXPOSE 8080
# Liveness: worker/health-server.ts (200 while alive, draining included; 503 once failed or stopped).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.WORKER_HEALTH_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini as PID 1 reaps children and forwards SIGTERM to node, where the worker drains (WORKER_SHUTDOWN_GRACE_SECONDS).
# The node flags are worker/node-flags.ts's WORKER_NODE_FLAGS (Node 24's young generation held 1,000 pipelines past 1 GiB).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=16", "--import", "tsx", "worker/main.ts"]
