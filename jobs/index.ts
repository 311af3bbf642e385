// Every cron job of `smsc-sync start`, one file each; schedules are overridable by
// SMSC_SCHEDULE_<NAME> (e.g. SMSC_SCHEDULE_OUTBOUND='*/10 * * * *').
import type { JobDefinition } from '../src/scheduler/job.ts';
import { balanceJob } from './balance.ts';
import { inboundJob } from './inbound.ts';
import { operatorsJob } from './operators.ts';
import { outboundJob } from './outbound.ts';
import { shortLinksJob } from './short-links.ts';
import { statsJob } from './stats.ts';
import { tariffsJob } from './tariffs.ts';

export const JOBS: readonly JobDefinition[] = [outboundJob, inboundJob, statsJob, tariffsJob, operatorsJob, shortLinksJob, balanceJob];
