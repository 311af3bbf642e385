// The SMSC emulator's HTTP server: `/sys/get.php`, `/sys/info.php` and `/sys/tinyurls.php`
// as smsc-api.md describes them, with SMSC's quotas and IP block, fault injection, and an
// inspection API (in-process, and under `/__sandbox/` for other processes).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestFingerprint } from '../smsc/endpoints.ts';
import { parseExactJson } from '../smsc/json.ts';
import { SandboxClock } from './clock.ts';
import { endpointOf, type EndpointName, handle } from './endpoints.ts';
import { FaultInjector, type FaultSpec } from './faults.ts';
import { QuotaTracker, type QuotaLimits, type QuotaRule } from './quotas.ts';
import { mixSeed, Random } from './random.ts';
import { charsetName, encodeBody, plainError, type Rendered, renderError } from './render.ts';
import { World, type WorldOptions } from './world.ts';

export interface SandboxOptions {
  /** (Default: 0, any free port) */
  readonly port?: number;
  /** (Default: 127.0.0.1) */
  readonly host?: string;
  /** (Default: a real-time clock starting now) */
  readonly clock?: SandboxClock;
  /** (Default: 1) */
  readonly seed?: number;
  /** The world to build around the clock's current time. */
  readonly world?: Omit<WorldOptions, 'start' | 'seed'>;
  /** Overrides of SMSC's limits (tests of the emulator itself). */
  readonly limits?: Partial<QuotaLimits>;
}

/** One request the emulator answered, as the tests inspect it. Holds no secret. */
export interface ServedRequest {
  readonly at: number;
  readonly method: string;
  readonly endpoint: EndpointName | undefined;
  readonly login: string | undefined;
  /** The request's parameters without credentials, sorted: what "identical" compares. */
  readonly fingerprint: string;
  /** 'ok', 'error N', or 'fault KIND'. */
  readonly outcome: string;
  /** The quota rule a refusal (error 9) broke. */
  readonly quotaRule?: QuotaRule;
  /** Whether a password or API key came in the URL's query rather than the body. */
  readonly credentialsInUrl: boolean;
}

export interface Sandbox {
  readonly url: string;
  readonly port: number;
  readonly clock: SandboxClock;
  readonly world: World;
  readonly quotas: QuotaTracker;
  readonly faults: FaultInjector;
  readonly requests: readonly ServedRequest[];
  stop(): Promise<void>;
}

const MAX_BODY = 1 << 20;

/** Starts the emulator; `stop()` closes it. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const clock = options.clock ?? new SandboxClock();
  const seed = options.seed ?? 1;
  const world = new World({ ...options.world, start: clock.now(), seed });
  const quotas = new QuotaTracker(options.limits);
  const faultRandom = new Random(mixSeed(seed, 5));
  const faults = new FaultInjector(() => faultRandom.next());
  const requests: ServedRequest[] = [];
  const state = { clock, world, quotas, faults, requests };

  const server = createServer((req, res) => {
    void serve(state, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal emulator error: ${String(error)}`);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    ...state,
    stop: () => close(server),
  };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

interface State {
  readonly clock: SandboxClock;
  readonly world: World;
  readonly quotas: QuotaTracker;
  readonly faults: FaultInjector;
  readonly requests: ServedRequest[];
}

async function serve(state: State, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sandbox');
  if (url.pathname.startsWith('/__sandbox/')) return control(state, url, req, res);
  const script = /^\/sys\/([a-z_]+\.php)$/.exec(url.pathname)?.[1];
  if (!script) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const body = req.method === 'POST' ? await readBody(req) : '';
  const params = new URLSearchParams(url.search);
  for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
  const fmt = Number(params.get('fmt') ?? 0);
  const charset = params.get('charset') ?? 'windows-1251';
  const endpoint = endpointOf(script, params);
  const now = state.clock.now();
  const fingerprint = requestFingerprint(script, params);
  const record = (outcome: string, login?: string, quotaRule?: QuotaRule) =>
    state.requests.push({
      at: now,
      method: req.method ?? 'GET',
      endpoint,
      login,
      fingerprint,
      outcome,
      ...(quotaRule ? { quotaRule } : {}),
      credentialsInUrl: url.searchParams.has('psw') || url.searchParams.has('apikey'),
    });
  const send = (r: Rendered, status = 200, bytes = encodeBody(r.body, charset)) => {
    res.writeHead(status, { 'content-type': `${r.contentType}; charset=${charsetName(charset)}`, 'content-length': bytes.length });
    res.end(bytes);
  };

  // Faults that strike before the API sees the request.
  const fault = state.faults.take(endpoint ?? script);
  if (fault && ['http500', 'http503', 'http429', 'reset', 'error', 'plainError', 'bareOk'].includes(fault.kind)) {
    record(`fault ${fault.kind}`, params.get('login') ?? undefined);
    return applyEarlyFault(fault, fmt, res, send);
  }

  const address = req.socket.remoteAddress ?? 'unknown';
  if (state.quotas.blockedUntil(address, now) !== undefined) {
    record('error 4', params.get('login') ?? undefined);
    return send(renderError(4, 'IP address is temporarily blocked', fmt));
  }
  const account = state.world.authenticate({
    login: params.get('login') ?? undefined,
    psw: params.get('psw') ?? undefined,
    apikey: params.get('apikey') ?? undefined,
  });
  if (!account) {
    state.quotas.failedLogin(address, now);
    record('error 2', params.get('login') ?? undefined);
    return send(renderError(2, 'authorization error', fmt));
  }
  const login = account.login;
  if (!endpoint) {
    record('error 1', login);
    return send(renderError(1, 'unknown request', fmt));
  }
  if (!state.quotas.open(login, endpoint, now)) {
    record('error 9', login, 'concurrency');
    return send(renderError(9, 'too many concurrent requests', fmt));
  }
  res.once('close', () => state.quotas.close(login));
  const refused = state.quotas.admit(login, endpoint, fingerprint, now);
  if (refused) {
    record('error 9', login, refused);
    return send(renderError(9, refused === 'identical' ? 'duplicate request, wait a minute' : 'too many requests', fmt));
  }

  // Faults that change what the API is asked.
  if (fault?.kind === 'ignoreParam' && fault.param) params.delete(fault.param);
  if (fault?.kind === 'capRows') params.set('cnt', String(Math.min(Number(params.get('cnt') ?? 100), fault.maxRows ?? 100)));

  const answer = handle(endpoint, { world: state.world, account, params, now, fmt });
  if (fault?.kind === 'ignoreParam' || fault?.kind === 'capRows') {
    record(`fault ${fault.kind}`, login);
    return send(answer);
  }
  if (fault?.kind === 'oversized') {
    record('fault oversized', login);
    return streamOversized(state.faults, res, answer, fault.sizeMb ?? 70, charset);
  }
  if (fault?.kind === 'rewrite' && fault.rewrite && fmt === 3) {
    record('fault rewrite', login);
    const rewritten = fault.rewrite(parseExactJson(answer.body));
    const body = typeof rewritten === 'string' ? rewritten : JSON.stringify(rewritten, (_k, v: unknown) => (typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v));
    return send({ ...answer, body });
  }
  if (fault?.kind === 'slow') {
    record('fault slow', login);
    await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 5000));
    if (res.destroyed) return;
    return send(answer);
  }
  if (fault?.kind === 'trickle') {
    record('fault trickle', login);
    const bytes = encodeBody(answer.body, charset);
    res.writeHead(200, { 'content-type': `${answer.contentType}; charset=${charsetName(charset)}`, 'content-length': bytes.length });
    for (let i = 0; i < bytes.length && !res.destroyed; i++) {
      res.write(bytes.subarray(i, i + 1));
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 1000));
    }
    if (!res.destroyed) res.end();
    return;
  }
  if (fault?.kind === 'corruptRows') {
    record('fault corruptRows', login);
    if (fmt !== 3) return send(answer);
    const corrupted = corruptRows(answer, fault, state.faults.rowsCorrupted, now);
    return send(corrupted, 200, withRawBytes(corrupted.body, charset));
  }
  if (fault?.kind === 'truncate') {
    record('fault truncate', login);
    const bytes = encodeBody(answer.body, charset);
    const cut = bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2)));
    res.writeHead(200, { 'content-type': `${answer.contentType}; charset=${charsetName(charset)}`, 'content-length': cut.length });
    res.end(cut);
    return;
  }
  record(answer.errorCode !== undefined ? `error ${answer.errorCode}` : 'ok', login);
  send(answer);
}

function applyEarlyFault(fault: FaultSpec, fmt: number, res: ServerResponse, send: (r: Rendered, status?: number) => void): void {
  switch (fault.kind) {
    case 'http500':
      return send({ body: '<html><body><h1>500 Internal Server Error</h1></body></html>', contentType: 'text/html' }, 500);
    case 'http503':
      return send({ body: '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>', contentType: 'text/html' }, 503);
    case 'http429':
      res.setHeader('retry-after', String(fault.retryAfter ?? 1));
      return send({ body: '<html><body><h1>429 Too Many Requests</h1></body></html>', contentType: 'text/html' }, 429);
    case 'reset':
      res.socket?.destroy();
      return;
    case 'plainError':
      return send(plainError(fault.code ?? 9, 'duplicate request, wait a minute'));
    case 'bareOk':
      return send({ body: 'OK', contentType: 'text/plain' });
    default: {
      const error = renderError(fault.code ?? 9, 'duplicate request, wait a minute', fmt);
      // Error objects with keys the documentation does not list ({"error":…,"error_code":7,"id":34}).
      if (fmt === 3 && fault.fields) return send({ ...error, body: JSON.stringify({ ...JSON.parse(error.body), ...fault.fields }) });
      return send(error);
    }
  }
}

/**
 * Overwrites fields of every n-th row of a JSON list answer (or of the listed rows, counted in
 * `sent`), keeping 64-bit numbers exact.
 */
function corruptRows(answer: Rendered, fault: FaultSpec, sent: FaultInjector['rowsCorrupted'], now: number): Rendered {
  const rows = parseExactJson(answer.body);
  if (!Array.isArray(rows)) return answer;
  const every = fault.every ?? 10;
  const patches = fault.patches ?? [fault.patch ?? {}];
  const listed = fault.rows ? new Set(fault.rows) : undefined;
  let hit = 0;
  rows.forEach((row: Record<string, unknown>, i) => {
    let patch: Readonly<Record<string, unknown>>;
    if (listed) {
      // A history row by its int_id, a reply by its id.
      const id = String(row.int_id ?? row.id);
      if (!listed.has(id)) return;
      const seen = sent.get(id);
      sent.set(id, { times: (seen?.times ?? 0) + 1, first: seen?.first ?? now, last: now });
      patch = patches[fault.rows!.indexOf(id) % patches.length]!;
    } else {
      if (i % every !== 0) return;
      patch = patches[(i / every) % patches.length]!;
    }
    hit += 1;
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete row[k];
      else row[k] = v;
    }
  });
  if (hit === 0) return answer;
  return { ...answer, body: JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v)) };
}

/**
 * The body's bytes, where each escape `\\udc80`…`\\udcff` a corrupting patch wrote (the way
 * utf8.ts decodes a stray byte) is sent as that raw byte: invalid UTF-8 on the wire.
 */
function withRawBytes(body: string, charset: string): Buffer {
  const parts: Buffer[] = [];
  const escape = /(?<!\\)((?:\\\\)*)\\u(dc[89a-f][0-9a-f])/gi;
  let last = 0;
  for (const m of body.matchAll(escape)) {
    parts.push(encodeBody(body.slice(last, m.index) + m[1], charset), Buffer.from([Number.parseInt(m[2]!, 16) - 0xdc00]));
    last = m.index + m[0].length;
  }
  parts.push(encodeBody(body.slice(last), charset));
  return Buffer.concat(parts);
}

/**
 * The answer padded with spaces to `sizeMb` MB after its opening bracket (still valid JSON),
 * streamed in 64 KiB chunks with no Content-Length, as a runaway server or proxy would. Counts
 * the bytes written until it ends or the client hangs up.
 */
async function streamOversized(faults: FaultInjector, res: ServerResponse, answer: Rendered, sizeMb: number, charset: string): Promise<void> {
  const body = encodeBody(answer.body, charset);
  const total = Math.max(body.length, Math.round(sizeMb * 1_048_576));
  const chunk = Buffer.alloc(65_536, 0x20);
  faults.oversizedBytesSent = 0;
  res.writeHead(200, { 'content-type': `${answer.contentType}; charset=${charsetName(charset)}` });
  const write = async (bytes: Buffer) => {
    if (res.destroyed) return;
    faults.oversizedBytesSent += bytes.length;
    if (!res.write(bytes)) await new Promise<void>((resolve) => {
      // Whichever comes first; the other listener goes with it (one left per wait would pile up).
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });
  };
  await write(body.subarray(0, 1));
  for (let left = total - body.length; left > 0 && !res.destroyed; left -= chunk.length) await write(left >= chunk.length ? chunk : chunk.subarray(0, left));
  await write(body.subarray(1));
  if (!res.destroyed) res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `/__sandbox/…`: the inspection and control API for tests in other processes. */
async function control(state: State, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (value: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  };
  const input = req.method === 'POST' ? (JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>) : {};
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /__sandbox/state':
      return reply({
        now: state.clock.now(),
        requests: state.requests.length,
        byOutcome: countBy(state.requests.map((r) => r.outcome)),
        violations: state.quotas.violations,
        faultsApplied: Object.fromEntries(state.faults.applied),
      });
    case 'POST /__sandbox/clock':
      if (typeof input.advanceMs === 'number') state.clock.advance(input.advanceMs);
      if (typeof input.set === 'number') state.clock.set(input.set);
      if (typeof input.speed === 'number') state.clock.setSpeed(input.speed);
      return reply({ now: state.clock.now() });
    case 'POST /__sandbox/faults':
      state.faults.inject(input as unknown as FaultSpec);
      return reply({ ok: true });
    case 'DELETE /__sandbox/faults':
      state.faults.clear();
      return reply({ ok: true });
    case 'GET /__sandbox/truth': {
      const login = url.searchParams.get('login') ?? '';
      if (!state.world.account(login)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no account '${login}'`);
        return;
      }
      const now = state.clock.now();
      return reply(
        state.world.truth(login, now).map((v) => ({
          int_id: v.message.intId,
          phone: v.message.phone,
          status: v.status,
          cost_kopecks: v.cost,
          send_ts: v.message.sendTs,
        })),
      );
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown sandbox control');
  }
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
