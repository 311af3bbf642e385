// `smsc-sync`: thin commands over the modules in src/. Each command's errors end the process
// with a message that says what to fix and a non-zero exit code.
import { Command, InvalidArgumentError } from 'commander';
import { SandboxClock } from './sandbox/clock.ts';
import { startSandbox } from './sandbox/server.ts';

const program = new Command()
  .name('smsc-sync')
  .description('Keeps a PostgreSQL warehouse in step with SMSC SMS gateway accounts.')
  .showHelpAfterError();

program
  .command('sandbox')
  .description('Run the local SMSC emulator (all six data endpoints, quotas, fault injection) for trying things without an account')
  .option('--port <n>', 'port to listen on (0: any free port)', integer, 8123)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--seed <n>', 'seed of the generated account data', integer, 1)
  .option('--speed <n>', 'virtual seconds per real second (statuses settle and messages arrive faster)', number, 1)
  .action(async (opts: { port: number; host: string; seed: number; speed: number }) => {
    const sandbox = await startSandbox({ port: opts.port, host: opts.host, seed: opts.seed, clock: new SandboxClock({ speed: opts.speed }) });
    const account = [...sandbox.world.accounts.values()][0]!;
    console.log(`SMSC sandbox listening on ${sandbox.url}`);
    console.log(`  account: login '${account.login}', password '${account.spec.password}', apikey '${account.spec.apikey ?? '-'}'`);
    console.log(`  history: ${account.messages.filter((m) => m.sendTs <= sandbox.clock.now()).length} messages so far, ${account.replies.length} replies scheduled`);
    console.log(`  try: curl -d 'get_messages=1&login=${account.login}&psw=${account.spec.password}&fmt=3&cnt=5&charset=utf-8' ${sandbox.url}/sys/get.php`);
    const stop = () => void sandbox.stop().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('demo')
  .description('One-command trial: start the emulator and show what it serves (the sync into the warehouse joins as it lands)')
  .option('--seed <n>', 'seed of the generated account data', integer, 1)
  .action(async (opts: { seed: number }) => {
    const sandbox = await startSandbox({ port: 0, seed: opts.seed });
    try {
      await runDemo(sandbox.url);
    } finally {
      await sandbox.stop();
    }
  });

/** Asks the emulator what an SMSC account holds, the way a client does (POST, fmt=3, utf-8). */
async function runDemo(url: string): Promise<void> {
  const ask = async (script: string, params: Record<string, string>): Promise<any> => {
    const body = new URLSearchParams({ login: 'demo', psw: 'demo', fmt: '3', charset: 'utf-8', ...params });
    const res = await fetch(`${url}/sys/${script}`, { method: 'POST', body });
    return JSON.parse(await res.text());
  };
  const today = new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date());
  const messages = (await ask('get.php', { get_messages: '1', cnt: '1000' })) as any[];
  const byStatus = new Map<string, number>();
  for (const m of messages) byStatus.set(m.status_name, (byStatus.get(m.status_name) ?? 0) + 1);
  const cost = messages.reduce((s, m) => s + Math.round(Number(m.cost) * 100), 0) / 100;
  console.log(`SMSC emulator at ${url}, account 'demo'`);
  console.log(`\nLast ${messages.length} messages by status (${cost.toFixed(2)} RUB):`);
  for (const [name, n] of [...byStatus].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${name}`);
  const stats = (await ask('get.php', { get_stat: '1', start: today, end: today })) as any[];
  console.log(`\nToday (${today}) per login:`);
  for (const s of stats) console.log(`  ${s.login.padEnd(12)} ${String(s.sms).padStart(5)} messages  ${s.credit.padStart(10)} ${s.currency} spent`);
  const replies = (await ask('get.php', { get_answers: '1', hour: '24', cnt: '10000' })) as any[];
  console.log(`\nReplies in the last 24 hours: ${replies.length}`);
  for (const r of replies.slice(-3)) console.log(`  ${r.received}  ${r.phone}: ${JSON.stringify(r.message)}`);
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

await program.parseAsync(process.argv);
