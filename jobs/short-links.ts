// Job 'short_links': Short-link counters, once a day shortly before midnight in the account's zone, so that the day's clicks are (nearly) all in the snapshot.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const shortLinksJob: JobDefinition = {
  name: 'short_links',
  schedule: '55 23 * * *',
  streams: ['short_links'],
  description: "Short-link counters, once a day shortly before midnight in the account's zone, so that the day's clicks are (nearly) all in the snapshot.",
};
