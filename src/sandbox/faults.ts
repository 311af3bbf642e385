// Faults the tests switch on: what a flaky network and an overloaded SMSC do to a client.

export type FaultKind =
  /** HTTP 500 with an HTML body, before the request reaches the API. */
  | 'http500'
  /** HTTP 503, as from an overloaded front end. */
  | 'http503'
  /** HTTP 429 Too Many Requests with `Retry-After: retryAfter` seconds (a rate-limiting front end). */
  | 'http429'
  /** The answer comes `delayMs` late (past a client's timeout). */
  | 'slow'
  /** The answer trickles in: headers at once, then one byte every `delayMs` (a stalled proxy, a bad link). */
  | 'trickle'
  /** The body is cut in the middle (mid-JSON) and the connection closed. */
  | 'truncate'
  /** The error arrives as plain text `ERROR = N (…)` although fmt=3 was asked. */
  | 'plainError'
  /** An error reply `{"error":…,"error_code":code}` (9 by default: an error-9 burst), with any extra `fields` (SMSC adds an `id` now and then). */
  | 'error'
  /** A bare `OK` body, as some SMSC calls answer, where data was asked for. */
  | 'bareOk'
  /** The connection is dropped without an answer. */
  | 'reset'
  /** fmt=3 list answers: fields of every `every`-th row (or of the listed `rows`) are replaced by `patch` (bad input). */
  | 'corruptRows'
  /** The request is answered as if `param` (prev_id, after_id) had not been sent: a server or cache that ignores it. */
  | 'ignoreParam'
  /** List answers hold at most `maxRows` rows whatever `cnt` asked: a server that caps its pages. */
  | 'capRows'
  /** A fmt=3 answer padded to `sizeMb` megabytes, streamed without Content-Length (a runaway answer). */
  | 'oversized'
  /** The fmt=3 answer goes through `rewrite` (in-process only): answers no other fault shapes. */
  | 'rewrite';

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Only requests to this endpoint (get_messages, get_answers, get_stat, get_price, get_operator, tinyurls). */
  readonly endpoint?: string;
  /** How many requests it hits. (Default: 1; with `rate`: unlimited) */
  readonly count?: number;
  /** Hit each matching request with this probability (seeded), instead of the next `count`. */
  readonly rate?: number;
  /** For 'http429': the Retry-After header, in seconds. (Default: 1) */
  readonly retryAfter?: number;
  /** For 'slow': the delay; for 'trickle': between bytes. (Default: 5000 for slow, 1000 for trickle) */
  readonly delayMs?: number;
  /** For 'error' and 'plainError'. (Default: 9) */
  readonly code?: number;
  /** For 'corruptRows': the fields to overwrite; undefined deletes a field. */
  readonly patch?: Readonly<Record<string, unknown>>;
  /** For 'corruptRows': several patches, applied in turn to the rows hit (instead of `patch`). */
  readonly patches?: readonly Readonly<Record<string, unknown>>[];
  /** For 'corruptRows': which rows, counting from the first. (Default: 10) */
  readonly every?: number;
  /**
   * For 'corruptRows': only the rows with these ids (a history row's `int_id`, a reply's `id`),
   * wherever they are in the page, instead of every `every`-th: the same bad rows on every
   * re-read. Each time one is sent is recorded in `FaultInjector.rowsCorrupted`.
   */
  readonly rows?: readonly string[];
  /** For 'error': keys added to the error object, e.g. `{ id: 34 }`. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** For 'ignoreParam': the parameter ignored. */
  readonly param?: 'prev_id' | 'after_id';
  /** For 'capRows'. (Default: 100) */
  readonly maxRows?: number;
  /** For 'oversized'. (Default: 70) */
  readonly sizeMb?: number;
  /** For 'rewrite': the new answer from the parsed one (64-bit integers as BigInt); a string is sent as the body as is. */
  readonly rewrite?: (answer: unknown) => unknown;
}

interface ActiveFault {
  readonly spec: FaultSpec;
  left: number;
}

export class FaultInjector {
  readonly #active: ActiveFault[] = [];
  readonly #random: () => number;
  /** Faults applied so far, by kind. */
  readonly applied = new Map<FaultKind, number>();
  /** For 'corruptRows' with `rows`: by id, how many times each listed row was sent corrupted, first and last when (the clock's ms). */
  readonly rowsCorrupted = new Map<string, { times: number; first: number; last: number }>();
  /** For 'oversized': bytes of the last such answer written before it ended or the client hung up. */
  oversizedBytesSent = 0;

  constructor(random: () => number) {
    this.#random = random;
  }

  inject(spec: FaultSpec): void {
    this.#active.push({ spec, left: spec.count ?? (spec.rate !== undefined ? Infinity : 1) });
  }

  clear(): void {
    this.#active.length = 0;
  }

  /** The fault to apply to a request to `endpoint`, if any (consumes one use). */
  take(endpoint: string): FaultSpec | undefined {
    for (const fault of this.#active) {
      if (fault.left <= 0 || (fault.spec.endpoint && fault.spec.endpoint !== endpoint)) continue;
      if (fault.spec.rate !== undefined && this.#random() >= fault.spec.rate) continue;
      fault.left -= 1;
      this.applied.set(fault.spec.kind, (this.applied.get(fault.spec.kind) ?? 0) + 1);
      return fault.spec;
    }
    return undefined;
  }
}
