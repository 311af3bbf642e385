// The streams smsc-sync knows, by name (the names `sync --streams` takes).
import { balanceStream } from './balance/stream.ts';
import { inboundStream } from './inbound/stream.ts';
import { operatorsStream } from './operators/stream.ts';
import { outboundStream } from './outbound/stream.ts';
import { shortLinksStream } from './short-links/stream.ts';
import { statsStream } from './stats/stream.ts';
import { STREAM_NAMES } from './names.ts';
import type { Stream } from './stream.ts';
import { tariffsStream } from './tariffs/stream.ts';

export { STREAM_NAMES };

/** In the order a full pass runs them: operators after the streams that bring new numbers. */
export const STREAMS: readonly Stream[] = [outboundStream, inboundStream, statsStream, tariffsStream, operatorsStream, shortLinksStream, balanceStream];

if (STREAMS.map((s) => s.name).join() !== STREAM_NAMES.join()) {
  throw new Error(`src/streams/names.ts lists ${STREAM_NAMES.join(', ')}; the streams are ${STREAMS.map((s) => s.name).join(', ')}`);
}

export function streamByName(name: string): Stream | undefined {
  return STREAMS.find((s) => s.name === name);
}
