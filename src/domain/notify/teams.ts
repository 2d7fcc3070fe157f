import type { Severity } from './events';
import { clip, fitToLimit, type Fitted } from './fit';
import type { NotificationView } from './view';

/**
 * A Teams Workflows webhook ("When a Teams webhook request is received") takes a message whose attachment
 * is an Adaptive Card. Without a bot only link actions work, so every button is `Action.OpenUrl`. A Teams
 * message is at most 28 KB; we keep 1 KB of headroom for what the workflow adds around the card.
 */
export const teamsMaxBytes = 27 * 1024;
/** Teams renders 1.5 on desktop and web, older clients less: 1.4 covers every element used here. */
export const adaptiveCardVersion = '1.4';

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: string;
  version: string;
  fallbackText: string;
  body: Record<string, unknown>[];
  actions: { type: 'Action.OpenUrl'; title: string; url: string; style?: 'positive' | 'destructive' }[];
}

export interface TeamsMessage {
  type: 'message';
  attachments: {
    contentType: 'application/vnd.microsoft.card.adaptive';
    contentUrl: null;
    content: AdaptiveCard;
  }[];
}

const containerStyle: Record<Severity, string> = {
  info: 'accent',
  good: 'good',
  warning: 'warning',
  danger: 'attention',
  critical: 'attention',
};

const titleColor: Record<Severity, string> = {
  info: 'Default',
  good: 'Good',
  warning: 'Warning',
  danger: 'Attention',
  critical: 'Attention',
};

export function teamsCard(view: NotificationView): AdaptiveCard {
  const body: Record<string, unknown>[] = [
    {
      type: 'Container',
      style: containerStyle[view.severity],
      bleed: true,
      items: [
        {
          type: 'TextBlock',
          text: clip(view.title, 200),
          weight: 'Bolder',
          size: view.severity === 'critical' ? 'Large' : 'Medium',
          color: titleColor[view.severity],
          wrap: true,
        },
      ],
    },
    { type: 'TextBlock', text: view.summary, wrap: true },
  ];
  if (view.todo.length > 0) {
    body.push({ type: 'TextBlock', text: 'Left to do', weight: 'Bolder', wrap: true });
    // Teams' TextBlock markdown renders "- " lines as a list.
    body.push({ type: 'TextBlock', text: view.todo.map((t) => `- ${oneLine(t)}`).join('\r'), wrap: true });
  }
  if (view.facts.length > 0) {
    body.push({ type: 'FactSet', facts: view.facts.map((f) => ({ title: f.name, value: f.value })) });
  }
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: adaptiveCardVersion,
    fallbackText: clip(view.fallback, 300),
    body,
    actions: view.actions.map((a) => ({
      type: 'Action.OpenUrl' as const,
      title: clip(a.title, 40),
      url: a.url,
      ...(a.primary ? { style: 'positive' as const } : {}),
    })),
  };
}

export function teamsMessage(view: NotificationView): TeamsMessage {
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: teamsCard(view) },
    ],
  };
}

export function formatTeams(view: NotificationView): Fitted<TeamsMessage> {
  return fitToLimit(view, teamsMessage, teamsMaxBytes, { title: 200, todoItem: 500 });
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}
