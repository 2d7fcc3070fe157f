import { errorCode } from '../../src/domain/errors';
import { channelWants } from '../../src/domain/notify';
import { parsePolicies } from '../../src/domain/policy';

const base = `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
`;

function problemsOf(text: string): string[] {
  try {
    parsePolicies(text, 'p.yaml');
  } catch (e) {
    expect(errorCode(e)).toBe('InvalidPolicy');
    return (e as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('policy was accepted');
}

describe('notification channels in a policy', () => {
  it('has none unless the policy lists some', () => {
    expect(parsePolicies(base)[0]!.notifications).toEqual([]);
  });

  it("reads channels with their defaults: every event, a name from the setting, the kind's rate", () => {
    const [policy] = parsePolicies(`${base}
notifications:
  - { kind: teams, urlSetting: TEAMS_RELEASES_URL, events: [waitingApproval, rollbackFailed] }
  - { kind: slack, urlSetting: SLACK_URL }
  - { kind: webhook, name: pager, urlSetting: PAGER_URL, secretSetting: PAGER_SECRET, events: [rollbackFailed], ratePerSecond: 20 }
`);
    expect(policy!.notifications).toEqual([
      {
        kind: 'teams',
        name: 'teams:TEAMS_RELEASES_URL',
        urlSetting: 'TEAMS_RELEASES_URL',
        events: ['waitingApproval', 'rollbackFailed'],
        ratePerSecond: 4,
      },
      { kind: 'slack', name: 'slack:SLACK_URL', urlSetting: 'SLACK_URL', events: ['*'], ratePerSecond: 1 },
      {
        kind: 'webhook',
        name: 'pager',
        urlSetting: 'PAGER_URL',
        secretSetting: 'PAGER_SECRET',
        events: ['rollbackFailed'],
        ratePerSecond: 20,
      },
    ]);
    const [teams, slack] = policy!.notifications;
    expect(channelWants(teams!, 'waitingApproval')).toBe(true);
    expect(channelWants(teams!, 'started')).toBe(false);
    expect(channelWants(slack!, 'undone')).toBe(true);
  });

  it('lists every problem at once, and never echoes a URL put where a setting name belongs', () => {
    const problems = problemsOf(`${base}
notifications:
  - { kind: teams, urlSetting: "https://prod-01.westeurope.logic.azure.com/workflows/abc?sig=SECRETSIG", ratePerSecond: 10 }
  - { kind: webhook, urlSetting: HOOK_URL, events: [started, deployed] }
  - { kind: slack, urlSetting: SLACK_URL, secretSetting: SLACK_SECRET }
  - { kind: slack, urlSetting: SLACK_URL }
  - { kind: email, urlSetting: MAIL, colour: red }
  - { kind: teams, urlSetting: "1BAD", events: [] }
`);
    const text = problems.join('\n');
    expect(text).toMatch(
      /notifications\.0\.urlSetting: urlSetting must name the app setting that holds the value, not the value itself/,
    );
    expect(text).not.toContain('SECRETSIG');
    expect(text).not.toContain('logic.azure.com');
    expect(text).toMatch(/notifications\.0\.ratePerSecond: must be at most 4 for kind 'teams'/);
    expect(text).toMatch(/notifications\.1\.secretSetting: is required for kind 'webhook'/);
    expect(text).toMatch(/notifications\.1\.events\.1: 'deployed' is not an event/);
    expect(text).toMatch(/notifications\.2\.secretSetting: applies only to kind 'webhook'/);
    expect(text).toMatch(/notifications\.3\.name: channel 'slack:SLACK_URL' is listed twice/);
    expect(text).toMatch(/notifications\.4\.kind: must be one of teams, slack, webhook/);
    expect(text).toMatch(/notifications\.4: .*colour/);
    expect(text).toMatch(/notifications\.5\.urlSetting: urlSetting must be an app setting name/);
    expect(text).toMatch(/notifications\.5\.events: list at least one event/);
  });
});
