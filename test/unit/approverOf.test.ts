import { HttpRequest } from '@azure/functions';
import { approverOf } from '../../src/functions/http/request';

const request = (principal?: string) =>
  new HttpRequest({
    method: 'POST',
    url: 'https://gl.example/api/approvals/r1',
    headers: principal ? { 'x-ms-client-principal-name': principal } : {},
  });

describe('approverOf', () => {
  it('takes the signed-in principal only when the platform vouches for the header', () => {
    expect(approverOf(request('carol@contoso.com'), true, undefined)).toBe('carol@contoso.com');
    expect(approverOf(request('carol@contoso.com'), false, undefined)).toBe('approval link holder');
  });

  it('falls back to the approver the link was minted for, then to the link holder', () => {
    expect(approverOf(request(), true, 'dave@contoso.com')).toBe('dave@contoso.com');
    expect(approverOf(request('mallory@contoso.com'), false, 'dave@contoso.com')).toBe('dave@contoso.com');
    expect(approverOf(request(), false, undefined)).toBe('approval link holder');
  });
});
