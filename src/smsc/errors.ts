// Errors of the SMSC client. Each says what happened, where, and what to do about it, and
// none carries a password or an API key (request fingerprints leave credentials out).

/** An error reply from SMSC (`error_code` N), other than those the client absorbs. */
export class SmscError extends Error {
  readonly code: number;
  readonly endpoint: string;
  readonly description: string;
  readonly fingerprint: string;
  readonly account: string;

  constructor(props: { code: number; endpoint: string; description: string; fingerprint: string; account: string }) {
    super(smscErrorMessage(props));
    this.name = 'SmscError';
    this.code = props.code;
    this.endpoint = props.endpoint;
    this.description = props.description;
    this.fingerprint = props.fingerprint;
    this.account = props.account;
  }
}

function smscErrorMessage(p: { code: number; endpoint: string; description: string; fingerprint: string; account: string }): string {
  switch (p.code) {
    case 1:
      return `SMSC rejected the parameters of ${p.fingerprint} for account '${p.account}' (error 1: ${p.description}): a bug or bad input; not retrying the same request`;
    case 9:
      return `SMSC refused ${p.endpoint} for account '${p.account}' (error 9: ${p.description}): quota exceeded; backing off`;
    default:
      return `SMSC answered error ${p.code} (${p.description}) to ${p.fingerprint} for account '${p.account}'`;
  }
}

/** The account is stopped: SMSC said error 2 (credentials) or 4 (IP blocked), now or earlier. */
export class AccountStoppedError extends Error {
  readonly account: string;
  readonly code: 2 | 4;
  /** When requests may resume; undefined: not before the credentials change. */
  readonly until: Date | undefined;

  constructor(account: string, code: 2 | 4, until: Date | undefined, login: string | undefined) {
    super(
      code === 2
        ? `SMSC rejected ${login ? `login '${login}'` : 'the API key'} of account '${account}' (error 2): ` +
            'check SMSC_PASSWORD / SMSC_APIKEY or the IP allow-list in the SMSC account; ' +
            'not retrying to avoid an IP block (five failed logins block the address, and with it production sending). ' +
            'The account resumes when its credentials change.'
        : `SMSC has temporarily blocked this machine's IP address for account '${account}' (error 4): ` +
            `every request of the account is paused until ${until?.toISOString() ?? 'the cool-off ends'}`,
    );
    this.name = 'AccountStoppedError';
    this.account = account;
    this.code = code;
    this.until = until;
  }
}

/**
 * No budget for this request now; the caller yields and tries again at `retryAt` (it must
 * not sleep holding a lock).
 */
export class QuotaDeferredError extends Error {
  readonly account: string;
  readonly endpoint: string;
  readonly rule: string;
  readonly retryAt: Date;

  constructor(account: string, endpoint: string, rule: string, retryAt: Date) {
    super(`quota for ${endpoint} of account '${account}' is spent (${rule}); next slot at ${retryAt.toISOString()}`);
    this.name = 'QuotaDeferredError';
    this.account = account;
    this.endpoint = endpoint;
    this.rule = rule;
    this.retryAt = retryAt;
  }
}

/** A network error, timeout, HTTP 5xx or unreadable body: retried a bounded number of times. */
export class TransportError extends Error {
  readonly kind: 'network' | 'timeout' | 'http' | 'body';
  readonly httpStatus: number | undefined;

  constructor(kind: TransportError['kind'], message: string, options: { httpStatus?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TransportError';
    this.kind = kind;
    this.httpStatus = options.httpStatus;
  }
}

/**
 * An answer larger than SMSC_MAX_ANSWER_MB, cut off while it streamed in (never buffered
 * whole). Not retried: the same request would bring the same answer.
 */
export class AnswerTooLargeError extends Error {
  readonly limitBytes: number;

  constructor(fingerprint: string, limitBytes: number) {
    super(
      `SMSC's answer to ${fingerprint} is larger than SMSC_MAX_ANSWER_MB (${limitBytes / 1_048_576} MB) and was cut off unread: ` +
        'a 1000-row history page is far smaller. Check SMSC_BASE_URL (a proxy answering something else?), or raise SMSC_MAX_ANSWER_MB; not retrying',
    );
    this.name = 'AnswerTooLargeError';
    this.limitBytes = limitBytes;
  }
}
