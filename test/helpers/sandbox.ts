// Starting the emulator on a test clock, and calling it the way SMSC is called.
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/server.ts';

/** A fixed instant for reproducible worlds: 15 June 2026, 12:00 in Moscow. */
export const T0 = Date.UTC(2026, 5, 15, 9, 0, 0);

/** An emulator whose clock stands still at T0 until the test moves it. */
export function testSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ clock: new SandboxClock({ start: T0, speed: 0 }), ...options });
}

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly bytes: Buffer;
}

/** POSTs a form to `/sys/<script>`; `charset=utf-8` and demo credentials unless given. */
export async function call(
  sandbox: Sandbox,
  script: string,
  params: Record<string, string | number>,
  options: { method?: 'GET' | 'POST'; auth?: boolean } = {},
): Promise<Answer> {
  const form = new URLSearchParams();
  if (options.auth !== false) {
    form.set('login', 'demo');
    form.set('psw', 'demo');
  }
  if (!('charset' in params)) form.set('charset', 'utf-8');
  for (const [k, v] of Object.entries(params)) form.set(k, String(v));
  const url = `${sandbox.url}/sys/${script}`;
  const res =
    options.method === 'GET'
      ? await fetch(`${url}?${form.toString()}`)
      : await fetch(url, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: bytes.toString('utf8'), bytes };
}

/** Parses fmt=3 JSON keeping 64-bit integers exact (as BigInt). */
export function parseJson(text: string): any {
  return JSON.parse(text, (_k, v: unknown, ctx?: { source?: string }) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : v,
  );
}
