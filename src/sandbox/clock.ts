// The emulator's clock: real time for `smsc-sync sandbox`, or time the tests drive
// (fixed, advanced by hand, or running faster than real time).

/** Anything that tells the time, in Unix ms. The sync side takes one too. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface SandboxClockOptions {
  /** Start instant. (Default: the real time) */
  readonly start?: number;
  /** Virtual ms per real ms; 0 stops time until advanced by hand. (Default: 1) */
  readonly speed?: number;
}

export class SandboxClock implements Clock {
  #base: number;
  #realBase: number;
  #speed: number;

  constructor(options: SandboxClockOptions = {}) {
    this.#base = options.start ?? Date.now();
    this.#realBase = performance.now();
    this.#speed = options.speed ?? 1;
  }

  now(): number {
    return Math.floor(this.#base + (performance.now() - this.#realBase) * this.#speed);
  }

  get speed(): number {
    return this.#speed;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.set(this.now() + ms);
  }

  set(at: number): void {
    this.#base = at;
    this.#realBase = performance.now();
  }

  setSpeed(speed: number): void {
    this.set(this.now());
    this.#speed = speed;
  }
}
