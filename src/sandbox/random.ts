// Seeded, reproducible randomness for the emulator: the same seed always builds the same world.

/** A small deterministic PRNG (mulberry32) with the helpers the generator needs. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight: `[[value, weight], …]`. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [value, w] of items) {
      if ((r -= w) < 0) return value;
    }
    return items[items.length - 1]![0];
  }

  /** Log-uniform in [min, max]: many short delays, a few long ones. */
  logUniform(min: number, max: number): number {
    return Math.exp(Math.log(min) + this.next() * (Math.log(max) - Math.log(min)));
  }

  /** Unsigned 63-bit integer (fits PostgreSQL bigint). */
  bigint63(): bigint {
    const hi = BigInt(Math.floor(this.next() * 2 ** 31));
    const lo = BigInt(Math.floor(this.next() * 2 ** 32));
    return (hi << 32n) | lo;
  }
}

/** Mixes numbers into one 32-bit seed (for per-item streams that do not depend on order). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(p / 2 ** 32), 0x01000193);
    h ^= h >>> 13;
  }
  return h >>> 0;
}
