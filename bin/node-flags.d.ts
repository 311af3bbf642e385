/** V8 flags the CLI runs with (see node-flags.js). */
export declare const NODE_FLAGS: readonly string[];
