import * as df from 'durable-functions';

/** Forward steps: a few quick retries for what the adapters' own retries did not absorb. */
export const stepRetry = new df.RetryOptions(2_000, 3);
stepRetry.backoffCoefficient = 2;
stepRetry.maxRetryIntervalInMilliseconds = 15_000;

/** Compensation tries harder: restoring production traffic is worth waiting for. */
export const compensationRetry = new df.RetryOptions(2_000, 6);
compensationRetry.backoffCoefficient = 2;
compensationRetry.maxRetryIntervalInMilliseconds = 60_000;

/** One attempt per call: the saga's undos are retried by the compensation loop (compensation.ts), on its bound. */
export const undoAttempt = new df.RetryOptions(1_000, 1);
