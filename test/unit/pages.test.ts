import { viewerStanding, signInUrl } from '../../src/functions/pages/approvalPage';
import { gateChart, thresholdOf, trafficChart } from '../../src/functions/pages/charts';
import { contentSecurityPolicy, esc, layout, stylesheet } from '../../src/functions/pages/html';
import { createHash } from 'node:crypto';

describe('who may decide on the approval page', () => {
  const base = {
    approvers: ['alice@contoso.com'],
    signInUrl: '/.auth/login/aad?x',
    trustClientPrincipal: true,
  };

  it('lets a listed approver decide, and anyone when the policy names none', () => {
    expect(viewerStanding({ ...base, principal: 'alice@contoso.com', tokenApprover: undefined })).toEqual({
      may: true,
      as: 'alice@contoso.com',
    });
    expect(
      viewerStanding({ ...base, approvers: [], principal: undefined, tokenApprover: undefined }),
    ).toEqual({
      may: true,
      as: 'approval link holder',
    });
  });

  it('tells a visitor to sign in, a non-approver that they may not, and an app without sign-in what is missing', () => {
    expect(viewerStanding({ ...base, principal: undefined, tokenApprover: undefined })).toMatchObject({
      may: false,
      reason: 'not-signed-in',
    });
    expect(viewerStanding({ ...base, principal: 'bob@contoso.com', tokenApprover: undefined })).toMatchObject(
      {
        may: false,
        reason: 'not-an-approver',
        as: 'bob@contoso.com',
      },
    );
    expect(
      viewerStanding({
        ...base,
        trustClientPrincipal: false,
        principal: undefined,
        tokenApprover: undefined,
      }),
    ).toMatchObject({ may: false, reason: 'sign-in-not-trusted' });
  });

  it('signs in back to the same page, encoded', () => {
    expect(signInUrl('/api/approvals/web-1?token=a.b')).toBe(
      '/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fapprovals%2Fweb-1%3Ftoken%3Da.b',
    );
  });
});

describe('charts and layout', () => {
  it('reads thresholds from simple conditions only', () => {
    expect(thresholdOf('result <= 0.05')).toEqual({ op: '<=', value: 0.05 });
    expect(thresholdOf('result <= baseline * 1.2')).toEqual({ op: '<=', baselineFactor: 1.2 });
    expect(thresholdOf('result > baseline')).toEqual({ op: '>', baselineFactor: 1 });
    expect(thresholdOf('result[0] <= 1 && result[1] < 2')).toBeUndefined();
  });

  it('draws a threshold line and a cross for a failed measurement, and escapes names', () => {
    const svg = gateChart(
      'err<rate>',
      'result <= 0.05',
      [
        { at: 0, value: 0.01, verdict: 'success' },
        { at: 60_000, value: 0.2, verdict: 'failure' },
      ],
      120_000,
    );
    expect(svg).toContain('stroke-dasharray="5 4"');
    expect(svg).toContain('<line');
    expect(svg).toContain('err&lt;rate&gt;');
    expect(svg).not.toContain('err<rate>');
  });

  it('draws traffic as steps per revision', () => {
    const svg = trafficChart(
      [
        { at: 0, traffic: [{ revisionName: 'web--v1', weight: 100 }] },
        {
          at: 1000,
          traffic: [
            { revisionName: 'web--v1', weight: 90 },
            { revisionName: 'web--v2', weight: 10 },
          ],
        },
      ],
      2000,
    );
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('web--v2</code> now 10%');
  });

  it('allows exactly its one inline stylesheet by hash, and no script', () => {
    const hash = createHash('sha256').update(stylesheet).digest('base64');
    expect(contentSecurityPolicy).toContain(`style-src 'sha256-${hash}'`);
    expect(contentSecurityPolicy).not.toContain('script-src');
    expect(layout('<t>', '<p>x</p>', { refreshSeconds: 5 })).toContain(
      '<meta http-equiv="refresh" content="5">',
    );
    expect(esc(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });
});
