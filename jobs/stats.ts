// Job 'stats': Daily statistics: hourly re-reads yesterday and today (the partial day) and continues any walk back.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const statsJob: JobDefinition = {
  name: 'stats',
  schedule: '7 * * * *',
  streams: ['stats'],
  description: "Daily statistics: hourly re-reads yesterday and today (the partial day) and continues any walk back.",
};
