// Job 'inbound': Replies: SMSC keeps them 7 days; every 2 minutes keeps the lag short at no quota cost beyond the identical-request rule.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const inboundJob: JobDefinition = {
  name: 'inbound',
  schedule: '*/2 * * * *',
  streams: ['inbound'],
  description: "Replies: SMSC keeps them 7 days; every 2 minutes keeps the lag short at no quota cost beyond the identical-request rule.",
};
