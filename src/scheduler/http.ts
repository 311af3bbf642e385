// `start`'s HTTP listener (SMSC_HTTP_PORT): /healthz answers 200 only while the scheduler
// runs and the database answers; /metrics serves Prometheus metrics from memory (the gauges
// read from the warehouse are refreshed in the background: a scrape never waits for it).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../metrics.ts';

export interface HttpOptions {
  readonly port: number;
  /** (Default: 0.0.0.0, for probes from outside the container) */
  readonly host?: string;
  readonly metrics: Metrics;
  /** Undefined when healthy, else the reason. */
  readonly health: () => Promise<string | undefined>;
}

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 3000;

export async function startHttp(options: HttpOptions): Promise<HttpListener> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/healthz') {
        const problem = await Promise.race([
          options.health().catch((e: unknown) => (e instanceof Error ? e.message : String(e))),
          new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${HEALTH_TIMEOUT_MS} ms`), HEALTH_TIMEOUT_MS).unref()),
        ]);
        res.writeHead(problem === undefined ? 200 : 503, { 'content-type': 'text/plain' }).end(problem === undefined ? 'ok\n' : `unhealthy: ${problem}\n`);
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(await options.metrics.registry.metrics());
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
