// SMSC's request limits as the emulator enforces them per login (smsc-api.md): identical
// requests, history per hour, stats and operator lookups per minute, concurrent connections,
// and the IP block after five failed logins.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export type QuotaRule = 'identical' | 'history_hour' | 'stats_minute' | 'operator_minute' | 'balance_minute' | 'concurrency';

export interface QuotaLimits {
  /** (Default: 3 per 60 s) */
  readonly identicalPerMinute: number;
  /** (Default: 30 per rolling hour) */
  readonly historyPerHour: number;
  /** (Default: 3 per minute) */
  readonly statsPerMinute: number;
  /** (Default: 100 per minute) */
  readonly operatorPerMinute: number;
  /** balance.php requests. (Default: 10 per minute) */
  readonly balancePerMinute: number;
  /** Connections at once under one login; this many or more are refused. (Default: 15) */
  readonly concurrentConnections: number;
  /** Failed logins from one address within 30 min that block it for 30 min. (Default: 5) */
  readonly failedLoginsToBlock: number;
}

export const SMSC_LIMITS: QuotaLimits = {
  identicalPerMinute: 3,
  historyPerHour: 30,
  statsPerMinute: 3,
  operatorPerMinute: 100,
  balancePerMinute: 10,
  concurrentConnections: 15,
  failedLoginsToBlock: 5,
};

export interface Violation {
  readonly at: number;
  readonly login: string;
  readonly endpoint: string;
  readonly rule: QuotaRule;
}

/** Sliding windows of instants, pruned as they age out. */
class Window {
  readonly #times: number[] = [];
  count(now: number, span: number): number {
    while (this.#times.length > 0 && this.#times[0]! <= now - span) this.#times.shift();
    return this.#times.length;
  }
  add(now: number): void {
    this.#times.push(now);
  }
  last(): number | undefined {
    return this.#times[this.#times.length - 1];
  }
}

export class QuotaTracker {
  readonly limits: QuotaLimits;
  readonly violations: Violation[] = [];
  readonly #identical = new Map<string, Window>();
  readonly #history = new Map<string, Window>();
  readonly #stats = new Map<string, Window>();
  readonly #operator = new Map<string, Window>();
  readonly #balance = new Map<string, Window>();
  readonly #inFlight = new Map<string, number>();
  /** Most connections seen open at once, per login. */
  readonly peakInFlight = new Map<string, number>();
  readonly #failedLogins = new Map<string, Window>();
  readonly #blockedUntil = new Map<string, number>();

  constructor(limits: Partial<QuotaLimits> = {}) {
    this.limits = { ...SMSC_LIMITS, ...limits };
  }

  /** When an address is blocked (error 4), until when. */
  blockedUntil(address: string, now: number): number | undefined {
    const until = this.#blockedUntil.get(address);
    return until !== undefined && until > now ? until : undefined;
  }

  /** Records a failed login; the fifth within 30 minutes blocks the address for 30 minutes. */
  failedLogin(address: string, now: number): void {
    const w = window(this.#failedLogins, address);
    w.add(now);
    if (w.count(now, 30 * MINUTE) >= this.limits.failedLoginsToBlock) this.#blockedUntil.set(address, now + 30 * MINUTE);
  }

  unblock(): void {
    this.#blockedUntil.clear();
    this.#failedLogins.clear();
  }

  /**
   * Admits a request or names the rule it breaks. Admitted requests count towards the
   * windows; refused ones are recorded as violations and do not.
   */
  admit(login: string, endpoint: string, fingerprint: string, now: number): QuotaRule | undefined {
    const rule = this.#check(login, endpoint, fingerprint, now);
    if (rule) {
      this.violations.push({ at: now, login, endpoint, rule });
      return rule;
    }
    window(this.#identical, `${login}\n${fingerprint}`).add(now);
    if (endpoint === 'get_messages') window(this.#history, login).add(now);
    if (endpoint === 'get_stat') window(this.#stats, login).add(now);
    if (endpoint === 'get_operator') window(this.#operator, login).add(now);
    if (endpoint === 'balance') window(this.#balance, login).add(now);
    return undefined;
  }

  /** Marks a connection open for the login; returns false (and records) past the limit. */
  open(login: string, endpoint: string, now: number): boolean {
    const n = this.#inFlight.get(login) ?? 0;
    if (n + 1 >= this.limits.concurrentConnections) {
      this.violations.push({ at: now, login, endpoint, rule: 'concurrency' });
      return false;
    }
    this.#inFlight.set(login, n + 1);
    this.peakInFlight.set(login, Math.max(n + 1, this.peakInFlight.get(login) ?? 0));
    return true;
  }

  close(login: string): void {
    this.#inFlight.set(login, Math.max(0, (this.#inFlight.get(login) ?? 1) - 1));
  }

  #check(login: string, endpoint: string, fingerprint: string, now: number): QuotaRule | undefined {
    if (window(this.#identical, `${login}\n${fingerprint}`).count(now, MINUTE) >= this.limits.identicalPerMinute) return 'identical';
    if (endpoint === 'get_messages' && window(this.#history, login).count(now, HOUR) >= this.limits.historyPerHour) return 'history_hour';
    if (endpoint === 'get_stat' && window(this.#stats, login).count(now, MINUTE) >= this.limits.statsPerMinute) return 'stats_minute';
    if (endpoint === 'get_operator' && window(this.#operator, login).count(now, MINUTE) >= this.limits.operatorPerMinute) {
      return 'operator_minute';
    }
    if (endpoint === 'balance' && window(this.#balance, login).count(now, MINUTE) >= this.limits.balancePerMinute) return 'balance_minute';
    return undefined;
  }
}

function window(map: Map<string, Window>, key: string): Window {
  let w = map.get(key);
  if (!w) map.set(key, (w = new Window()));
  return w;
}
