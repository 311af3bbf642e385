// `npm run bench`: the ingest benchmark (a million messages against raw COPY), the
// quota-efficiency benchmark (a simulated week), the views benchmark (two million messages,
// each view's 30-day tile against a hand-written indexed range) and the start-up benchmark
// (the CLI with and without Node's compile cache, a new embedded warehouse from the copy of a
// fresh cluster and by initdb), one after the other; the figures are
// printed and written to bench/results/ as JSON. About 21 minutes on 2 cores.
import { benchIngest } from './ingest.ts';
import { benchQuota } from './quota.ts';
import { benchStartup } from './startup.ts';
import { benchViews } from './views.ts';
import { line, writeResult } from './support.ts';

const t0 = performance.now();
const ingest = await benchIngest();
const quota = await benchQuota();
const views = await benchViews();
const startup = await benchStartup();
const seconds = Math.round((performance.now() - t0) / 1000);
line(`bench: ${seconds} s in all`);
writeResult('bench', { seconds, ingest, quota, views, startup });
