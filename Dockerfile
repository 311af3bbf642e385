# smsc-sync: Node 24 runs the TypeScript sources directly (type stripping), no build step.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY jobs ./jobs
# Filled here, in node_modules/.cache, for the image's user to read (it may not write there):
# Node's compile cache of the modules every command loads (bin/smsc-sync.js: the start-up,
# configuration, warehouse and migrations; a command's own modules, loaded when it runs, are
# compiled at each start: about 30 ms of CPU for `start`, measured 2026-12-05); and the copy of
# a fresh PGlite cluster a new embedded warehouse starts from (src/warehouse/pglite-template.ts),
# so the first start on an empty volume skips initdb.
RUN SMSC_DATA_DIR=/tmp/smsc-sync-build node bin/smsc-sync.js migrate >/dev/null && rm -rf /tmp/smsc-sync-build
# The embedded warehouse (no DATABASE_URL) and the HMAC key (secret.key) live in
# SMSC_DATA_DIR. Its default, .smsc-sync in the working folder, would be /app/.smsc-sync,
# which the user `node` may not create: a folder of its own, a volume so it outlives the
# container. (A volume created from the image starts owned by `node`; a host folder mounted
# here must be writable by uid 1000.)
ENV SMSC_DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
VOLUME /data
# `start` serves /healthz and /metrics here; the health check asks /healthz with node itself
# (the image has no curl). SMSC_HTTP_PORT empty turns the listener off: run such a container
# with --no-healthcheck.
ENV SMSC_HTTP_PORT=9464
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "/app/bin/healthcheck.js"]
USER node
ENTRYPOINT ["node", "bin/smsc-sync.js"]
CMD ["start"]
