// The six data endpoints and the balance: where each lives, and what makes two requests
// "identical" to SMSC.

export const ENDPOINTS = ['get_messages', 'get_answers', 'get_stat', 'get_price', 'get_operator', 'tinyurls', 'balance'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/** Script under /sys/ and the flag parameter that selects the endpoint (none: the script alone). */
export const ENDPOINT_ROUTES: Readonly<Record<Endpoint, { script: string; flag: string | null }>> = {
  get_messages: { script: 'get.php', flag: 'get_messages' },
  get_answers: { script: 'get.php', flag: 'get_answers' },
  get_stat: { script: 'get.php', flag: 'get_stat' },
  get_price: { script: 'get.php', flag: 'get_price' },
  get_operator: { script: 'info.php', flag: 'get_operator' },
  tinyurls: { script: 'tinyurls.php', flag: 'get' },
  balance: { script: 'balance.php', flag: null },
};

const CREDENTIAL_PARAMS = new Set(['login', 'psw', 'apikey']);

/**
 * The request without its credentials, parameters sorted: two requests with the same
 * fingerprint are "identical" in SMSC's sense. Safe to store and to log.
 */
export function requestFingerprint(script: string, params: Iterable<readonly [string, string]>): string {
  const kept = [...params].filter(([k]) => !CREDENTIAL_PARAMS.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${script}?${new URLSearchParams(kept as [string, string][]).toString()}`;
}
