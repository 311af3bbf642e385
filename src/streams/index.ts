// The streams smsc-sync knows, by name (the names `sync --streams` takes).
import { inboundStream } from './inbound/stream.ts';
import { outboundStream } from './outbound/stream.ts';
import type { Stream } from './stream.ts';

export const STREAMS: readonly Stream[] = [outboundStream, inboundStream];

export const STREAM_NAMES = STREAMS.map((s) => s.name);

export function streamByName(name: string): Stream | undefined {
  return STREAMS.find((s) => s.name === name);
}
