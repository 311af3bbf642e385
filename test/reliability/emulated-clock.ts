// Preloaded (`node --import`) into a sync child process of the crash suite: its clock follows
// the emulator's accelerated clock, the way libfaketime would. EMULATED_CLOCK is
// "<emulator ms>,<real ms at that moment>,<speed>". Only the clock is simulated: the child is
// the real `smsc-sync sync`, its quota ledger counts the emulator's hours.
const spec = process.env.EMULATED_CLOCK;
if (spec) {
  const [base, realBase, speed] = spec.split(',').map(Number) as [number, number, number];
  const realNow = Date.now.bind(Date);
  Date.now = () => Math.floor(base + (realNow() - realBase) * speed);
}
