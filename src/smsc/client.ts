// The SMSC API client: POST with a form body (credentials never in a URL), fmt=3, utf-8,
// every request reserved in the shared quota ledger first, SMSC's error codes handled by one
// policy, transient failures retried a bounded number of times, 64-bit integers kept exact.
import pRetry from 'p-retry';
import { type Dispatcher, Pool } from 'undici';
import type { AccountConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { registerAccountName, registerSecret } from '../logger.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import { type Endpoint, ENDPOINT_ROUTES, requestFingerprint } from './endpoints.ts';
import { AccountStoppedError, AnswerTooLargeError, QuotaDeferredError, SmscError, TransportError } from './errors.ts';
import { parseExactJson } from './json.ts';
import { decodeUtf8 } from './utf8.ts';
import { credentialsMac, quotaKey, secretKey } from './credentials.ts';
import { type LedgerAccount, type QuotaLedger, type RequestOutcome, type Slot, TRANSIENT_RULES } from './quota-ledger.ts';

export interface SmscClientOptions {
  readonly account: AccountConfig;
  readonly ledger: QuotaLedger;
  readonly logger: Logger;
  /** (Default: the system clock) */
  readonly clock?: Clock;
  /** Keep-alive connections per host; SMSC refuses 15 per login. (Default: 4) */
  readonly connections?: number;
  /**
   * Overall deadline of one request: connecting, the headers and the whole body (an answer
   * that trickles in is cut off at it). (Default: 30000 ms)
   */
  readonly timeoutMs?: number;
  /** Key of the credentials' HMAC (see credentials.ts). (Default: a key for this process) */
  readonly credentialsKey?: Buffer;
  /**
   * Largest answer read, counted while it streams in; a larger one fails the request, unread
   * (SMSC_MAX_ANSWER_MB). (Default: 32 MiB, some 50 times a 1000-row history page)
   */
  readonly maxAnswerBytes?: number;
  /** Retries of network errors, timeouts, 5xx, unreadable bodies and error 9. (Default: 4) */
  readonly retries?: number;
  /** First back-off delay, doubled each retry, with jitter. (Default: 1000 ms) */
  readonly minBackoffMs?: number;
  /** (Default: 30000 ms) */
  readonly maxBackoffMs?: number;
  /**
   * Hosts tried in turn when the main one cannot be connected to (never after an answer).
   * (Default: www2…www5 of an smsc.* base URL, as SMSC's own libraries do; none otherwise)
   */
  readonly fallbackBaseUrls?: readonly string[];
  /** Told how each request sent ended: 'ok', 'error_N' (SMSC error N) or 'failed' (transport). */
  readonly onRequest?: (endpoint: Endpoint, outcome: string) => void;
}

/** Parameters of a request, besides credentials, fmt and charset. */
export type Params = Readonly<Record<string, string | number | undefined>>;

/** Error 3 ("not found"): an empty result, not a failure. */
export const NOT_FOUND: unique symbol = Symbol('SMSC error 3: not found');
/** A bare `OK` body, which some SMSC calls answer: success without data. */
export const BARE_OK: unique symbol = Symbol('SMSC answered a bare OK');

/** (32 MiB) */
export const DEFAULT_MAX_ANSWER_BYTES = 32 * 1_048_576;

/** Connection failures after which another host may be tried (nothing was sent). */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const ERROR_TEXT = /^\s*ERROR\s*=\s*(\d+)\s*(?:\((.*)\))?\s*$/s;
const BARE_OK_TEXT = /^\s*OK\s*$/i;

export class SmscClient {
  readonly account: AccountConfig;
  readonly #ledger: QuotaLedger;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #options: Required<Pick<SmscClientOptions, 'connections' | 'timeoutMs' | 'retries' | 'minBackoffMs' | 'maxBackoffMs' | 'maxAnswerBytes'>>;
  readonly #hosts: readonly string[];
  readonly #pools = new Map<string, Pool>();
  readonly #identity: LedgerAccount;
  readonly #onRequest: ((endpoint: Endpoint, outcome: string) => void) | undefined;

  constructor(options: SmscClientOptions) {
    this.#onRequest = options.onRequest;
    this.account = options.account;
    this.#ledger = options.ledger;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ account: options.account.name });
    this.#options = {
      connections: options.connections ?? 4,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 4,
      minBackoffMs: options.minBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      maxAnswerBytes: options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
    };
    this.#hosts = [options.account.baseUrl, ...(options.fallbackBaseUrls ?? backupHosts(options.account.baseUrl))];
    this.#identity = {
      name: options.account.name,
      login: options.account.login,
      quotaKey: quotaKey(options.account),
      credentialsMac: credentialsMac(options.credentialsKey ?? secretKey({}), options.account),
    };
    // The name and login are shown as they are, even when the password equals them (the
    // emulator's demo/demo): the logger masks a password only where it stands apart from them.
    registerAccountName(options.account.name);
    registerAccountName(options.account.login);
    registerSecret(options.account.password);
    registerSecret(options.account.apikey);
  }

  /**
   * Sent-message history, newest first (`prev_id` walks back); error 3 is an empty page.
   * `keepHistory`: sent only while more than that many of the hour's history requests stay
   * left (decided atomically in the ledger); else QuotaDeferredError with rule history_reserve.
   */
  async getMessages(
    params: { cnt?: number; prevId?: string; start?: string; end?: string; format?: 0 | 8; phone?: string; keepHistory?: number },
    runId?: string,
  ): Promise<unknown[]> {
    const answer = await this.request(
      'get_messages',
      { cnt: params.cnt, prev_id: params.prevId, start: params.start, end: params.end, format: params.format, phone: params.phone },
      runId,
      { keepHistory: params.keepHistory },
    );
    return answer === NOT_FOUND ? [] : asList(answer, 'get_messages');
  }

  /** Replies after `afterId`, oldest first. */
  async getAnswers(params: { cnt?: number; hour?: number; afterId?: string; toPhone?: string }, runId?: string): Promise<unknown[]> {
    const answer = await this.request('get_answers', { cnt: params.cnt, hour: params.hour, after_id: params.afterId, to_phone: params.toPhone }, runId);
    // A bare OK carries no reply, like [] (the cursor stays where it is: nothing is skipped).
    return answer === NOT_FOUND || answer === BARE_OK ? [] : asList(answer, 'get_answers');
  }

  /** Statistics rows, one per login, for the days `start`…`end` (dd.mm.yyyy). */
  async getStat(params: { start: string; end: string; electronic?: boolean }, runId?: string): Promise<unknown[]> {
    const answer = await this.request('get_stat', { start: params.start, end: params.end, mycur: 1, balance2: params.electronic ? 1 : undefined }, runId);
    return answer === NOT_FOUND ? [] : asList(answer, 'get_stat');
  }

  /** The account's balance (balance.php with cur=1: `{"balance": "1871.62", "currency": "RUB"}`). */
  async getBalance(runId?: string): Promise<unknown> {
    const answer = await this.request('balance', { cur: 1 }, runId);
    return withData(answer, 'balance');
  }

  async getPrice(runId?: string): Promise<unknown> {
    const answer = await this.request('get_price', {}, runId);
    return answer === NOT_FOUND ? undefined : withData(answer, 'get_price');
  }

  /**
   * Operators of numbers, one object per number with its `phone`; a number SMSC does not
   * know comes back as `{ phone, error_code: 3 }`.
   */
  async getOperators(phones: readonly string[], runId?: string): Promise<unknown[]> {
    if (phones.length === 0) return [];
    const answer = await this.request('get_operator', { phone: phones.join(',') }, runId);
    if (answer === NOT_FOUND) return phones.map((phone) => ({ phone, error_code: 3 }));
    // The entry's own phone, when it has one, is kept (the stream matches it to the number asked).
    if (phones.length === 1 && answer && typeof answer === 'object' && !Array.isArray(answer)) return [{ phone: phones[0], ...answer }];
    return asList(answer, 'get_operator');
  }

  /** Counters of one short link, by id or by the original link; undefined when unknown. */
  async getShortLink(params: { id: number } | { link: string }, runId?: string): Promise<unknown> {
    const answer = await this.request('tinyurls', 'id' in params ? { id: params.id } : { link: params.link }, runId);
    return answer === NOT_FOUND ? undefined : withData(answer, 'tinyurls');
  }

  /**
   * One request through the ledger and the error policy: the parsed fmt=3 answer, or
   * NOT_FOUND for error 3.
   * @throws QuotaDeferredError when the budget is spent (try at `retryAt`);
   *   AccountStoppedError on error 2 or 4 (now or recorded earlier); SmscError on error 1
   *   and on error 9 after the retries; TransportError after the retries.
   */
  async request(endpoint: Endpoint, params: Params, runId?: string, options: { keepHistory?: number | undefined } = {}): Promise<unknown> {
    const route = ENDPOINT_ROUTES[endpoint];
    const form: [string, string][] = route.flag ? [[route.flag, '1']] : [];
    for (const [k, v] of Object.entries(params)) if (v !== undefined) form.push([k, String(v)]);
    form.push(['fmt', '3'], ['charset', 'utf-8']);
    const fingerprint = requestFingerprint(route.script, form);
    let lastTransportError: TransportError | undefined;
    const attempt = async (n: number) => {
      try {
        return await this.#attempt(endpoint, route.script, form, fingerprint, n, runId, options.keepHistory);
      } catch (error) {
        // Retries of a failing connection can use up the identical-request budget; the
        // failure to report is then the network's, not the quota's. A Retry-After longer
        // than the back-off is a deferral: the run resumes at it.
        if (error instanceof QuotaDeferredError && lastTransportError && error.rule !== 'retry_after') throw lastTransportError;
        if (error instanceof TransportError) lastTransportError = error;
        throw error;
      }
    };
    return pRetry(attempt, {
      retries: this.#options.retries,
      factor: 2,
      minTimeout: this.#options.minBackoffMs,
      maxTimeout: this.#options.maxBackoffMs,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof TransportError || (error instanceof SmscError && error.code === 9),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft, retryDelay }) => {
        if (!(error instanceof TransportError || (error instanceof SmscError && error.code === 9))) return;
        this.#log.warn({ endpoint, fingerprint, attempt: attemptNumber, retriesLeft, retryDelayMs: retryDelay, err: error }, 'SMSC request failed, backing off');
      },
    });
  }

  /** History (get_messages) requests the login may still send this rolling hour, by the ledger. */
  async historyRequestsLeft(): Promise<number> {
    return (await this.#ledger.historyBudget(this.#identity.quotaKey)).remaining;
  }

  /** host/login the account's requests count against. */
  get quotaKey(): string {
    return this.#identity.quotaKey;
  }

  /** Closes the connection pools. */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  async #attempt(
    endpoint: Endpoint,
    script: string,
    form: readonly [string, string][],
    fingerprint: string,
    attempt: number,
    runId: string | undefined,
    keepHistory: number | undefined,
  ): Promise<unknown> {
    const slot = await this.#reserve(endpoint, fingerprint, attempt, runId, keepHistory);
    let outcome: RequestOutcome = { outcome: 'failed' };
    let answer: { value: unknown } | { code: number; description: string };
    try {
      const { status, text, retryAfterMs } = await this.#post(script, form, fingerprint);
      if (status >= 500) throw new TransportError('http', `SMSC answered HTTP ${status} to ${fingerprint}`, { httpStatus: status });
      if (status === 429) {
        // Too many requests: every process of the installation backs off until Retry-After
        // (the ledger refuses the login's requests until then), at least the back-off.
        const retryAt = this.#clock.now() + Math.max(retryAfterMs ?? 0, this.#options.minBackoffMs);
        outcome = { outcome: 'failed', httpStatus: 429, retryAt };
        throw new TransportError('http', `SMSC answered HTTP 429 (too many requests) to ${fingerprint}: backing off until ${new Date(retryAt).toISOString()}`, { httpStatus: 429 });
      }
      if (status !== 200) {
        outcome = { outcome: 'failed', httpStatus: status };
        throw new Error(`SMSC answered HTTP ${status} to ${fingerprint}: check SMSC_BASE_URL (${this.account.baseUrl})`);
      }
      answer = parseAnswer(text, fingerprint);
      outcome = 'code' in answer ? { outcome: 'error', errorCode: answer.code } : { outcome: 'ok' };
    } catch (error) {
      if (error instanceof TransportError) outcome = { ...outcome, outcome: 'failed', httpStatus: error.httpStatus };
      throw error;
    } finally {
      await this.#ledger.finish(slot, outcome);
      this.#onRequest?.(endpoint, outcome.outcome === 'error' ? `error_${outcome.errorCode}` : outcome.outcome);
    }
    if (!('code' in answer)) return answer.value;
    const { code, description } = answer;
    if (code === 3) return NOT_FOUND;
    if (code === 2 || code === 4) {
      const until = await this.#ledger.hold(this.#identity, code, description);
      const stopped = new AccountStoppedError(this.account.name, code, until, this.account.login);
      this.#log.error({ endpoint, errorCode: code, until: until?.toISOString() }, stopped.message);
      throw stopped;
    }
    throw new SmscError({ code, endpoint, description, fingerprint, account: this.account.name });
  }

  /**
   * A ledger slot. Waits (holding nothing) when what is in the way clears within moments: a
   * request in flight (concurrency, the check of unproven credentials), a Retry-After within
   * the back-off; otherwise yields with QuotaDeferredError.
   */
  async #reserve(endpoint: Endpoint, fingerprint: string, attempt: number, runId: string | undefined, keepHistory: number | undefined): Promise<Slot> {
    const deadline = performance.now() + this.#options.timeoutMs;
    for (;;) {
      const r = await this.#ledger.reserve(this.#identity, endpoint, fingerprint, { attempt, runId, keepHistory });
      if (r.ok) return { id: r.id, unverified: r.unverified, account: this.#identity };
      const waitMs = r.retryAt - this.#clock.now();
      const brief = TRANSIENT_RULES.has(r.rule) || (r.rule === 'retry_after' && waitMs <= this.#options.maxBackoffMs);
      if (!brief || performance.now() + Math.max(0, waitMs) > deadline + (r.rule === 'retry_after' ? this.#options.maxBackoffMs : 0)) {
        throw new QuotaDeferredError(this.account.name, endpoint, r.rule, new Date(r.retryAt));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(waitMs, 50), 1000) + Math.random() * 150));
    }
  }

  async #post(script: string, form: readonly [string, string][], fingerprint: string): Promise<{ status: number; text: string; retryAfterMs: number | undefined }> {
    const body = new URLSearchParams(this.#auth());
    for (const [k, v] of form) body.append(k, v);
    const payload = body.toString();
    let lastError: unknown;
    for (const host of this.#hosts) {
      const url = new URL(`${host}/sys/${script}`);
      // One deadline for the whole exchange: undici's own timeouts are per stage and per
      // chunk, so an answer trickling in a byte a second would never end.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), this.#options.timeoutMs);
      try {
        const res = await this.#pool(url.origin).request({
          method: 'POST',
          path: url.pathname,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json, text/plain' },
          body: payload,
          signal: deadline.signal,
        });
        const bytes = await readCapped(res, this.#options.maxAnswerBytes, fingerprint);
        const charset = /charset=([\w-]+)/i.exec(String(res.headers['content-type'] ?? ''))?.[1]?.toLowerCase();
        // utf-8 is asked for; should SMSC answer in its default windows-1251 anyway, read that.
        // Bytes that are not UTF-8 are kept recognisable (see utf8.ts), never replaced by U+FFFD.
        const text = charset && charset !== 'utf-8' && charset !== 'utf8' ? new TextDecoder(charset).decode(bytes) : decodeUtf8(bytes);
        return { status: res.statusCode, text, retryAfterMs: retryAfter(res.headers['retry-after'], this.#clock.now()) };
      } catch (error) {
        if (error instanceof AnswerTooLargeError) throw error;
        lastError = error;
        if (deadline.signal.aborted) {
          throw new TransportError('timeout', `SMSC did not answer ${script} in full within ${this.#options.timeoutMs / 1000} s (SMSC_REQUEST_TIMEOUT_SECONDS)`, { cause: error });
        }
        const code = (error as { code?: string }).code ?? '';
        if (CONNECT_FAILURES.has(code)) continue;
        throw new TransportError(TIMEOUTS.has(code) ? 'timeout' : 'network', `request to SMSC failed: ${code || String(error)}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    }
    const code = (lastError as { code?: string }).code ?? String(lastError);
    throw new TransportError('network', `cannot connect to SMSC (${this.#hosts.length} host(s) tried): ${code}`, { cause: lastError });
  }

  #auth(): [string, string][] {
    const a = this.account;
    return a.apikey ? [['apikey', a.apikey]] : [['login', a.login ?? ''], ['psw', a.password ?? '']];
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#options.connections,
        connect: { timeout: this.#options.timeoutMs },
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
        keepAliveTimeout: 10_000,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }
}

/**
 * The body, read chunk by chunk up to `limit` bytes: a larger answer (a declared or an actual
 * length) is cut off and its connection dropped, never buffered whole.
 */
async function readCapped(res: Dispatcher.ResponseData, limit: number, fingerprint: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new AnswerTooLargeError(fingerprint, limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new AnswerTooLargeError(fingerprint, limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * An answer's value, or SMSC's error in any of its shapes (JSON, or plain `ERROR = N (…)`).
 * Error objects may carry keys the documentation does not list (an `id`): only `error_code`
 * and `error` are read. A bare `OK` is BARE_OK.
 */
function parseAnswer(text: string, fingerprint: string): { value: unknown } | { code: number; description: string } {
  const plain = ERROR_TEXT.exec(text);
  if (plain) return { code: Number(plain[1]), description: plain[2] ?? '' };
  if (BARE_OK_TEXT.test(text)) return { value: BARE_OK };
  let value: unknown;
  try {
    value = parseExactJson(text);
  } catch (error) {
    throw new TransportError('body', `SMSC's answer to ${fingerprint} is not complete JSON (${text.length} characters)`, { cause: error });
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && 'error_code' in value) {
    const v = value as { error_code: unknown; error?: unknown };
    return { code: Number(v.error_code), description: String(v.error ?? '') };
  }
  return { value };
}

function asList(answer: unknown, endpoint: string): unknown[] {
  if (Array.isArray(answer)) return answer;
  throw new TransportError('body', `SMSC answered ${endpoint} with ${answer === BARE_OK ? 'a bare "OK"' : typeof answer} where a list was expected`);
}

/** An answer that must carry data: a bare OK says nothing about it (prices, a link's counters). */
function withData(answer: unknown, endpoint: string): unknown {
  if (answer === BARE_OK) throw new TransportError('body', `SMSC answered ${endpoint} with a bare "OK" where data was expected`);
  return answer;
}

/** Retry-After as ms from now: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfter(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Math.min(Number(value), 86_400) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - now, 86_400_000));
}

/** SMSC's backup hosts (www2…www5) for a regional smsc.* base URL. */
export function backupHosts(baseUrl: string): string[] {
  const url = new URL(baseUrl);
  const m = /^(?:www\.)?(smsc\.[a-z]+)$/.exec(url.hostname);
  if (!m) return [];
  return [2, 3, 4, 5].map((n) => `${url.protocol}//www${n}.${m[1]}${url.port ? `:${url.port}` : ''}`);
}
