// V8 flags the CLI runs with. A sync streams page after page, each a few MB of short-lived
// objects; with V8's default young generation (up to 64 MB per semi-space) the heap grows to
// hold that churn, and a million-row sync peaks above 300 MB RSS. 4 MB semi-spaces keep it
// near 200 MB for the same speed (bench/ingest.ts measures both).
export const NODE_FLAGS = ['--max-semi-space-size=4'];
