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
# The embedded warehouse (no DATABASE_URL) and the HMAC key (secret.key) live in
# SMSC_DATA_DIR. Its default, .smsc-sync in the working folder, would be /app/.smsc-sync,
# which the user `node` may not create: a folder of its own, a volume so it outlives the
# container. (A volume created from the image starts owned by `node`; a host folder mounted
# here must be writable by uid 1000.)
ENV SMSC_DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
ENTRYPOINT ["node", "bin/smsc-sync.js"]
CMD ["start"]
