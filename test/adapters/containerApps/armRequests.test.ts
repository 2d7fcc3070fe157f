import { revisionSuffixFor } from '../../../src/domain/revisionSuffix';
import { startEmulatorWithApp, waitForRevisionToSettle } from '../../support/emulator';

/** Counts what one "deploy green and wait until healthy" costs in ARM requests (ARM throttles per request). */
describe('ARM request budget', () => {
  it('deploys green and waits until healthy with one PATCH and few reads', async () => {
    const fx = await startEmulatorWithApp({ emulator: { provisioningDelayMs: 200, lroDurationMs: 20 } });
    try {
      const image = 'greenlight.azurecr.io/web:v2';
      fx.emulator.resetRequestLog();
      const { revisionName } = await fx.adapter.deployGreen(fx.app, {
        image,
        revisionSuffix: revisionSuffixFor(image),
      });
      const deployRequests = fx.emulator.requestLog.length;
      const pollEveryMs = 50;
      const { revision, polls } = await waitForRevisionToSettle(fx, revisionName, pollEveryMs);
      expect(revision.healthState).toBe('Healthy');

      const log = fx.emulator.requestLog;
      const kind = (r: (typeof log)[number]): string =>
        r.path.includes('OperationStatuses')
          ? 'GET operation status'
          : r.path.includes('OperationResults')
            ? 'GET operation result'
            : `${r.method} ${r.path.includes('/revisions/') ? 'revision' : 'app'} ${r.status}`;
      const byKind: Record<string, number> = {};
      for (const r of log) byKind[kind(r)] = (byKind[kind(r)] ?? 0) + 1;
      console.log(
        `deploy green + wait healthy (provisioning 200 ms, LRO 20 ms, LRO poll 10 ms, revision poll ${pollEveryMs} ms): ` +
          `${log.length} ARM requests (${deployRequests} for deployGreen, ${polls} getRevision polls): ${JSON.stringify(byKind)}`,
      );
      expect(byKind['PATCH app 202']).toBe(1);
      expect(byKind['GET app 200']).toBe(1);
      expect(byKind['GET revision 404']).toBe(1);
      expect(byKind['GET operation result']).toBe(1);
      expect(log.length).toBe(deployRequests + polls);
    } finally {
      await fx.stop();
    }
  });
});
