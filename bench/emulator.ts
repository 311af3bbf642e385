// The emulator for the benchmarks, in a process of its own: a world of a million messages
// must not weigh on the memory or the CPU time of the process being measured.
//   node bench/emulator.ts '{"seed":1,"start":…,"speed":0,"historyDays":…,"messagesPerDay":…,"unlimited":true}'
// Prints one line {"url":…} when it listens; the control API (/__sandbox/) drives it.
import { SandboxClock } from '../src/sandbox/clock.ts';
import { startSandbox } from '../src/sandbox/server.ts';

interface Spec {
  readonly seed: number;
  readonly start: number;
  readonly speed: number;
  readonly historyDays: number;
  readonly futureDays: number;
  readonly messagesPerDay: number;
  /** Lift SMSC's quotas (the ingest benchmark measures throughput, not the quota). */
  readonly unlimited: boolean;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const sandbox = await startSandbox({
  clock: new SandboxClock({ start: spec.start, speed: spec.speed }),
  seed: spec.seed,
  world: { historyDays: spec.historyDays, futureDays: spec.futureDays, messagesPerDay: spec.messagesPerDay },
  ...(spec.unlimited ? { limits: { historyPerHour: 1e9, identicalPerMinute: 1e9 } } : {}),
});
process.stdout.write(`${JSON.stringify({ url: sandbox.url, messages: sandbox.world.account('demo')!.messages.length })}\n`);
const stop = () => void sandbox.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
