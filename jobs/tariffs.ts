// Job 'tariffs': The price list, once a day at night: a new history row only when a price changes.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const tariffsJob: JobDefinition = {
  name: 'tariffs',
  schedule: '17 3 * * *',
  streams: ['tariffs'],
  description: "The price list, once a day at night: a new history row only when a price changes.",
};
