// Job 'outbound': Sent-message history and status refresh, every 5 minutes (the default). Each run costs at least one history request per channel, so an idle hour spends 24 of the 30; a walk the quota cuts short resumes at the next fire.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const outboundJob: JobDefinition = {
  name: 'outbound',
  schedule: '*/5 * * * *',
  streams: ['outbound'],
  description: "Sent-message history and status refresh, every 5 minutes (the issue's default). Each run costs at least one history request per channel, so an idle hour spends 24 of the 30; a walk the quota cuts short resumes at the next fire.",
};
