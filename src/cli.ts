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
