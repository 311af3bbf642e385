// Job 'operators': Operators of numbers seen since the last run, in batches within 100 lookups a minute.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const operatorsJob: JobDefinition = {
  name: 'operators',
  schedule: '*/15 * * * *',
  streams: ['operators'],
  description: "Operators of numbers seen since the last run, in batches within 100 lookups a minute.",
};
