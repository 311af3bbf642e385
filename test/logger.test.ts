// No password or API key reaches a log line, whatever shape it hides in; every instant is
// ISO 8601; no line repeats a key; LOG_FORMAT and NO_COLOR pick the output.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type CreateLoggerOptions, registerAccountName, registerSecret } from '../src/logger.ts';
import { cronLoggerOf } from '../src/scheduler/scheduler.ts';
import { duplicateKeys } from './helpers/json-lines.ts';

function capture(options: Omit<CreateLoggerOptions, 'destination'> = {}) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'trace', destination, ...options }) };
}

/** 2026-11-23T10:00:00Z, a Monday, as a Date. */
const MONDAY = new Date(Date.UTC(2026, 10, 23, 10, 0, 0));
const ANSI = /\x1b\[/;

describe('logger', () => {
  it('writes one JSON object per line with a fixed message and its data', () => {
    const { lines, log } = capture();
    log.child({ account: 'acme', stream: 'outbound' }).info({ pages: 3, inserted: 120 }, 'stream synced');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, account: 'acme', stream: 'outbound', pages: 3, inserted: 120, msg: 'stream synced' });
  });

  it('redacts psw, password and apikey at any depth, in text, in errors, and registered values anywhere', () => {
    registerSecret('Tr0ub4dor&3');
    const { lines, log } = capture();
    log.info({ request: { form: { login: 'acme', psw: 'Tr0ub4dor&3', nested: [{ apikey: 'AK-777' }] } } }, 'sending');
    log.warn({ url: 'https://smsc.ru/sys/get.php?login=acme&psw=Tr0ub4dor%263&apikey=AK-777' }, 'odd url');
    log.error({ err: Object.assign(new Error('failed with password=Tr0ub4dor&3'), { password: 'Tr0ub4dor&3' }) }, 'boom');
    log.info(`the password is Tr0ub4dor&3 and nothing else`);
    const all = lines.join('\n');
    for (const secret of ['Tr0ub4dor', 'AK-777']) expect(all).not.toContain(secret);
    expect(all).toContain('[REDACTED]');
    expect(JSON.parse(lines[0]!).request.form.login).toBe('acme');
    expect(JSON.parse(lines[2]!).err.message).toBe('failed with password=[REDACTED]');
  });

  it('shows an account name and login as they are when the password equals or is part of them, and masks the password elsewhere', () => {
    // The emulator's login demo, password demo.
    registerAccountName('demo');
    registerSecret('demo');
    // A name that holds another account's password.
    registerAccountName('shop-Secr3t-ru');
    registerSecret('Secr3t');
    const { lines, log } = capture();
    log.child({ account: 'demo' }).error({ endpoint: 'get_stat' }, "SMSC refused get_stat for account 'demo' (error 9)");
    log.info({ account: 'demo', accounts: ['demo', 'shop-Secr3t-ru'], job: 'outbound:demo', form: { login: 'demo', psw: 'demo' } }, 'scheduler started');
    log.warn({ account: 'shop-Secr3t-ru', sent: 'login=demo&psw=demo' }, 'the password Secr3t was refused for shop-Secr3t-ru');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ account: 'demo', endpoint: 'get_stat', msg: "SMSC refused get_stat for account 'demo' (error 9)" }),
      expect.objectContaining({ account: 'demo', accounts: ['demo', 'shop-Secr3t-ru'], job: 'outbound:demo', form: { login: 'demo', psw: '[REDACTED]' }, msg: 'scheduler started' }),
      expect.objectContaining({ account: 'shop-Secr3t-ru', sent: 'login=demo&psw=[REDACTED]', msg: 'the password [REDACTED] was refused for shop-Secr3t-ru' }),
    ]);
  });

  it('writes every instant in ISO 8601: the line time, Dates in the data and in errors, and Dates written into text', () => {
    const { lines, log } = capture();
    const error = Object.assign(new Error(`quota spent; next slot at ${MONDAY}`), { retryAt: MONDAY });
    log.info({ retryAt: MONDAY, nested: { until: [MONDAY] }, invalid: new Date(Number.NaN), err: error }, `resumes at ${MONDAY}, or ${MONDAY.toUTCString()}`);
    const line = JSON.parse(lines[0]!);
    expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(line).toMatchObject({
      retryAt: '2026-11-23T10:00:00.000Z',
      nested: { until: ['2026-11-23T10:00:00.000Z'] },
      invalid: 'Invalid Date',
      err: { message: 'quota spent; next slot at 2026-11-23T10:00:00.000Z', retryAt: '2026-11-23T10:00:00.000Z' },
      msg: 'resumes at 2026-11-23T10:00:00.000Z, or 2026-11-23T10:00:00.000Z',
    });
    expect(lines[0]).not.toMatch(/GMT|Coordinated Universal Time|Mon Nov/);
  });

  it("passes node-cron's messages through, their Dates in ISO 8601", () => {
    const { lines, log } = capture();
    const cron = cronLoggerOf(log);
    cron.warn(`missed execution at ${MONDAY}! Possible blocking IO or high CPU user at the same process used by node-cron.`);
    cron.error('Run coordinator onComplete failed', new Error('connection lost'));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 40, component: 'node-cron', msg: 'missed execution at 2026-11-23T10:00:00.000Z! Possible blocking IO or high CPU user at the same process used by node-cron.' }),
      expect.objectContaining({ level: 50, component: 'node-cron', err: expect.objectContaining({ message: 'connection lost' }), msg: 'Run coordinator onComplete failed' }),
    ]);
  });

  it("never writes a key twice: the call's data yields to the child's bindings and to pino's own keys", () => {
    const { lines, log } = capture();
    const run = log.child({ account: 'acme', stream: 'outbound', runId: 'r1' });
    run.info({ stream: 'outbound', channel: 'sms' }, 'page committed');
    run.warn({ stream: 'stats', account: 'acme' }, 'another stream');
    log.info({ msg: 'inner', time: 5, level: 'x', pid: 1 }, 'outer');
    log.info({ msg: 'the message itself' });
    for (const line of lines) expect(duplicateKeys(line), line).toEqual([]);
    const [page, other, reserved, alone] = lines.map((l) => JSON.parse(l));
    expect(page).toMatchObject({ account: 'acme', stream: 'outbound', runId: 'r1', channel: 'sms', msg: 'page committed' });
    expect(other).toMatchObject({ account: 'acme', stream: 'outbound', stream_2: 'stats', msg: 'another stream' });
    expect(reserved).toMatchObject({ level: 30, pid: process.pid, msg: 'outer', msg_2: 'inner', time_2: 5, level_2: 'x', pid_2: 1 });
    expect(alone).toMatchObject({ msg: 'the message itself' });
  });

  it('is pretty on a terminal, JSON elsewhere, JSON on a terminal with LOG_FORMAT=json, and without colours under NO_COLOR', () => {
    const terminal = capture({ isTTY: true });
    terminal.log.info({ pages: 3 }, 'stream synced');
    expect(terminal.lines[0]).toMatch(ANSI);
    expect(terminal.lines.join('\n')).toMatch(/INFO.*stream synced/);
    expect(() => JSON.parse(terminal.lines[0]!)).toThrow();

    const noColor = capture({ isTTY: true, noColor: true });
    noColor.log.info({ pages: 3 }, 'stream synced');
    // The time in UTC and ISO 8601, as in JSON, whatever the zone of the machine.
    expect(noColor.lines[0]).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO \(\d+\): stream synced$/);
    expect(noColor.lines.join('\n')).not.toMatch(ANSI);

    const forced = capture({ isTTY: true, format: 'json' });
    forced.log.info({ pages: 3 }, 'stream synced');
    expect(JSON.parse(forced.lines[0]!)).toMatchObject({ pages: 3, msg: 'stream synced' });

    const piped = capture({ isTTY: false });
    piped.log.info({ pages: 3 }, 'stream synced');
    expect(JSON.parse(piped.lines[0]!)).toMatchObject({ pages: 3, msg: 'stream synced' });

    // Pretty asked for into a pipe or a file: no colour codes there either.
    const prettyPiped = capture({ isTTY: false, format: 'pretty' });
    prettyPiped.log.info({ pages: 3 }, 'stream synced');
    expect(prettyPiped.lines[0]).toMatch(/INFO \(\d+\): stream synced$/);
    expect(prettyPiped.lines.join('\n')).not.toMatch(ANSI);
  });
});
