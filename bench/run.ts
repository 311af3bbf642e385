// `npm run bench`: the ingest benchmark (a million messages against raw COPY) and the
// quota-efficiency benchmark (a simulated week), one after the other; the figures are
// printed and written to bench/results/ as JSON. About 9 minutes on 2 cores.
import { benchIngest } from './ingest.ts';
import { benchQuota } from './quota.ts';
import { line, writeResult } from './support.ts';

const t0 = performance.now();
const ingest = await benchIngest();
const quota = await benchQuota();
const seconds = Math.round((performance.now() - t0) / 1000);
line(`bench: ${seconds} s in all`);
writeResult('bench', { seconds, ingest, quota });
