#!/usr/bin/env node
// The container's health check (Dockerfile HEALTHCHECK, docker-compose.yml healthcheck): asks
// `start`'s /healthz on SMSC_HTTP_PORT and exits 0 on 200, else 1 with the reason on stdout,
// which `docker inspect` keeps. Node itself does it: node:24-slim has no curl or wget.
const port = process.env.SMSC_HTTP_PORT;
if (!port) {
  console.log('SMSC_HTTP_PORT is not set: `start` serves no /healthz without it');
  process.exit(1);
}
const url = `http://127.0.0.1:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await res.text()).trim();
  console.log(`${url}: ${res.status} ${body}`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (error) {
  // fetch's own message ('fetch failed') hides the cause: ECONNREFUSED, a timeout.
  const cause = error?.name === 'TimeoutError' ? 'no answer within 5 s' : (error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error));
  console.log(`${url}: ${cause}`);
  process.exit(1);
}
