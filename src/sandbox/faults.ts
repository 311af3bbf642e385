// Faults the tests switch on: what a flaky network and an overloaded SMSC do to a client.

export type FaultKind =
  /** HTTP 500 with an HTML body, before the request reaches the API. */
  | 'http500'
  /** HTTP 503, as from an overloaded front end. */
  | 'http503'
  /** The answer comes `delayMs` late (past a client's timeout). */
  | 'slow'
  /** The body is cut in the middle (mid-JSON) and the connection closed. */
  | 'truncate'
  /** The error arrives as plain text `ERROR = N (…)` although fmt=3 was asked. */
  | 'plainError'
  /** An error reply `{"error":…,"error_code":code}` (9 by default: an error-9 burst). */
  | 'error'
  /** The connection is dropped without an answer. */
  | 'reset'
  /** fmt=3 list answers: fields of every `every`-th row are replaced by `patch` (bad input). */
  | 'corruptRows';

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Only requests to this endpoint (get_messages, get_answers, get_stat, get_price, get_operator, tinyurls). */
  readonly endpoint?: string;
  /** How many requests it hits. (Default: 1; with `rate`: unlimited) */
  readonly count?: number;
  /** Hit each matching request with this probability (seeded), instead of the next `count`. */
  readonly rate?: number;
  /** For 'slow'. (Default: 5000) */
  readonly delayMs?: number;
  /** For 'error' and 'plainError'. (Default: 9) */
  readonly code?: number;
  /** For 'corruptRows': the fields to overwrite; undefined deletes a field. */
  readonly patch?: Readonly<Record<string, unknown>>;
  /** For 'corruptRows': several patches, applied in turn to the rows hit (instead of `patch`). */
  readonly patches?: readonly Readonly<Record<string, unknown>>[];
  /** For 'corruptRows': which rows, counting from the first. (Default: 10) */
  readonly every?: number;
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
