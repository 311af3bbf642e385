// Who an account is to SMSC, without keeping anything a password could be recovered from.
// - quotaKey: SMSC counts its quotas per login on each host, so the ledger does too.
// - credentialsMac: an HMAC of the credentials, keyed by a secret kept outside the database
//   (SMSC_SECRET_KEY, or a key file in the data folder). A hold after error 2 and the record
//   of which credentials last succeeded compare these, so a change of password is noticed,
//   while the database (and whoever reads it) learns nothing it could brute-force offline.
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountConfig } from '../config.ts';

/** The SMSC host and login an account's requests count against. */
export function quotaKey(account: Pick<AccountConfig, 'name' | 'baseUrl' | 'login' | 'apikey'>): string {
  const host = new URL(account.baseUrl).host;
  // An API key's login is not known here; the configuration refuses two entries with one key.
  return account.apikey ? `${host}/apikey/${account.name}` : `${host}/${account.login ?? ''}`;
}

/** HMAC-SHA256 (hex) of the account's host and credentials under the installation's secret key. */
export function credentialsMac(key: Buffer, account: Pick<AccountConfig, 'baseUrl' | 'login' | 'password' | 'apikey'>): string {
  return createHmac('sha256', key)
    .update(`smsc-sync credentials\n${new URL(account.baseUrl).host}\n${account.login ?? ''}\n${account.password ?? ''}\n${account.apikey ?? ''}`)
    .digest('hex');
}

const KEY_FILE = 'secret.key';
const keys = new Map<string, Buffer>();

/**
 * The installation's secret key: SMSC_SECRET_KEY when set (share it between replicas on
 * several hosts), else `<dataDir>/secret.key` (created on first use, readable by the owner
 * only), else one random key for this process. A replica with another key only sees every
 * held login as "credentials changed": it checks each once, within the installation's
 * failed-login budget.
 */
export function secretKey(options: { readonly secretKey?: string | undefined; readonly dataDir?: string | undefined }, onWarning?: (message: string) => void): Buffer {
  if (options.secretKey) return Buffer.from(options.secretKey, 'utf8');
  const dir = options.dataDir ?? '';
  const cached = keys.get(dir);
  if (cached) return cached;
  let key: Buffer | undefined;
  if (dir) {
    const path = join(dir, KEY_FILE);
    try {
      key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
      if (key.length < 16) key = undefined;
    } catch {
      key = undefined;
    }
    if (!key) {
      key = randomBytes(32);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
        chmodSync(path, 0o600);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          // Another process wrote it first: use theirs.
          key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
        } else {
          onWarning?.(`cannot keep the secret key in ${path} (${code ?? String(error)}); using one for this process only (set SMSC_SECRET_KEY to keep holds across restarts)`);
        }
      }
    }
  }
  key ??= randomBytes(32);
  keys.set(dir, key);
  return key;
}
