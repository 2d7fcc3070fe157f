import type { GateProviderKind, GateQuery, Measurement, MeasureTarget } from '../gates/types';

/**
 * Measures one gate query for one revision. A provider failure (auth, network, bad query) rejects with a
 * typed error; "no data" resolves with `value` undefined.
 */
export interface GateProvider {
  measure(query: GateQuery, target: MeasureTarget): Promise<Measurement>;
}

export type GateProviders = Record<GateProviderKind, GateProvider>;
