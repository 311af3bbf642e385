// The names of the streams smsc-sync knows (what `sync --streams` takes), in the order a full
// pass runs them: operators after the streams that bring new numbers. A module of its own, with
// no imports, so that what only needs the names (the CLI's options, status, the gauges) does
// not load every stream; index.ts checks that its streams are these, in this order.
export const STREAM_NAMES: string[] = ['outbound', 'inbound', 'stats', 'tariffs', 'operators', 'short_links', 'balance'];
