// Job 'balance': The account's balance, every hour at hh:59:50, so the last sample before each month (and day) is ten seconds before its end.
import type { JobDefinition } from '../src/scheduler/job.ts';

export const balanceJob: JobDefinition = {
  name: 'balance',
  schedule: '50 59 * * * *',
  streams: ['balance'],
  description: 'The account balance (balance.php), every hour at hh:59:50: the last sample before each month is its closing balance; one request an hour of the 10 a minute allowed.',
};
