import { deliverNotification } from '../domain/notify/deliver';
import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

export function notifyActivities({ notify }: RolloutPorts): Pick<ActivityHandlers, 'deliverNotification'> {
  return {
    /**
     * Delivers one notification to one channel. Bounded by the input's budget and never throws, so the
     * orchestration calls it without durable retries; the delivery ledger keeps a replay from resending.
     */
    deliverNotification: (input) => deliverNotification(notify, input),
  };
}
