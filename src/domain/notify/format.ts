import type { NotificationChannel } from './channels';
import { cloudEventContentType, formatCloudEvent, messageId } from './cloudEvent';
import type { NotificationEvent } from './events';
import { formatSlack } from './slack';
import { formatTeams } from './teams';
import { describe } from './view';

/** A request body ready to POST; signing headers are added at send time (they carry the timestamp). */
export interface FormattedMessage {
  contentType: string;
  body: string;
  truncated: boolean;
  /** The Standard Webhooks `webhook-id` for signed kinds. */
  messageId: string;
}

export function formatFor(
  channel: Pick<NotificationChannel, 'kind'>,
  event: NotificationEvent,
): FormattedMessage {
  const view = describe(event);
  const id = messageId(event);
  switch (channel.kind) {
    case 'teams': {
      const { body, truncated } = formatTeams(view);
      return { contentType: 'application/json', body, truncated, messageId: id };
    }
    case 'slack': {
      const { body, truncated } = formatSlack(view);
      return { contentType: 'application/json; charset=utf-8', body, truncated, messageId: id };
    }
    case 'webhook': {
      const { body, truncated } = formatCloudEvent(event, view);
      return { contentType: cloudEventContentType, body, truncated, messageId: id };
    }
  }
}
