import { clip, fitToLimit, type Fitted } from './fit';
import type { NotificationView } from './view';

/**
 * Block Kit limits a Slack incoming webhook enforces (docs.slack.dev, Block Kit reference). A button with
 * a `url` opens the link with no Slack app behind the webhook.
 */
export const slackLimits = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonUrl: 3000,
  actionId: 255,
  /** Top-level `text` (notification and fallback); Slack truncates messages past 40,000 characters. */
  text: 3000,
  /**
   * The whole message: Slack answers `msg_blocks_too_long` for blocks well under the sum of the per-block
   * limits (around 13,000 characters of text), so the message stays below 12,000 bytes.
   */
  messageBytes: 12_000,
} as const;

type TextObject = { type: 'plain_text'; text: string; emoji?: boolean } | { type: 'mrkdwn'; text: string };

export type SlackBlock =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'divider' }
  | { type: 'context'; elements: TextObject[] }
  | {
      type: 'actions';
      elements: {
        type: 'button';
        text: TextObject;
        url: string;
        action_id: string;
        style?: 'primary' | 'danger';
      }[];
    };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** Slack's mrkdwn treats `&`, `<` and `>` as control characters: escaped, a reason cannot ping @channel. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const emoji: Record<NotificationView['severity'], string> = {
  info: ':information_source:',
  good: ':white_check_mark:',
  warning: ':warning:',
  danger: ':x:',
  critical: ':rotating_light:',
};

export function slackMessage(view: NotificationView): SlackMessage {
  const loud = view.severity === 'critical' ? '<!here> ' : '';
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(view.title, slackLimits.headerText), emoji: true },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`${loud}${emoji[view.severity]} ${escapeMrkdwn(view.summary)}`, slackLimits.sectionText),
      },
    },
  ];
  if (view.todo.length > 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `*Left to do*\n${view.todo.map((t) => `• ${escapeMrkdwn(t)}`).join('\n')}`,
          slackLimits.sectionText,
        ),
      },
    });
  }
  const fields = view.facts.map((f) => ({
    type: 'mrkdwn' as const,
    text: clip(`*${escapeMrkdwn(f.name)}*\n${escapeMrkdwn(f.value)}`, slackLimits.fieldText),
  }));
  for (let i = 0; i < fields.length; i += slackLimits.sectionFields) {
    blocks.push({ type: 'section', fields: fields.slice(i, i + slackLimits.sectionFields) });
  }
  // A link longer than Slack allows would make the whole message fail: leave that button out.
  const buttons = view.actions
    .filter((a) => a.url.length <= slackLimits.buttonUrl)
    .slice(0, slackLimits.actionsElements)
    .map((a, i) => ({
      type: 'button' as const,
      text: { type: 'plain_text' as const, text: clip(a.title, slackLimits.buttonText), emoji: true },
      url: a.url,
      action_id: `greenlight-link-${i}`,
      ...(a.primary ? { style: 'primary' as const } : {}),
    }));
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Sent by Greenlight' }] });
  return {
    text: clip(`${loud}${escapeMrkdwn(view.fallback)}`, slackLimits.text),
    // Never more than 50 blocks: the fields split into sections of 10 are the only open-ended part.
    blocks:
      blocks.length > slackLimits.blocks
        ? [...blocks.slice(0, slackLimits.blocks - 1), blocks.at(-1)!]
        : blocks,
  };
}

export function formatSlack(view: NotificationView): Fitted<SlackMessage> {
  // Room is left for the emoji, the @here and the field's bold name around the texts.
  return fitToLimit(view, slackMessage, slackLimits.messageBytes, {
    title: slackLimits.headerText,
    summary: slackLimits.sectionText - 40,
    factName: 60,
    factValue: slackLimits.fieldText - 70,
    todoItem: 300,
  });
}
