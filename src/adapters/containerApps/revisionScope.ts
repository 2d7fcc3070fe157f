import type { Template } from '@azure/arm-appcontainers';
import type { RevisionScope } from '../../domain/ports/containerApps';

/** The revision-scope settings of an SDK template, as the drift guardrail compares them. */
export function revisionScopeOf(template: Template | undefined): RevisionScope | undefined {
  if (!template) return undefined;
  return {
    containers: (template.containers ?? []).map((c) => ({
      name: c.name ?? '',
      ...(c.image !== undefined ? { image: c.image } : {}),
      env: (c.env ?? []).map((e) => ({
        name: e.name ?? '',
        ...(e.value !== undefined ? { value: e.value } : {}),
        ...(e.secretRef !== undefined ? { secretRef: e.secretRef } : {}),
      })),
      ...(c.resources
        ? {
            resources: {
              ...(c.resources.cpu !== undefined ? { cpu: c.resources.cpu } : {}),
              ...(c.resources.memory !== undefined ? { memory: c.resources.memory } : {}),
            },
          }
        : {}),
      probes: (c.probes ?? []).map((p) => ({ ...p })),
    })),
    scale: {
      ...(template.scale?.minReplicas !== undefined ? { minReplicas: template.scale.minReplicas } : {}),
      ...(template.scale?.maxReplicas !== undefined ? { maxReplicas: template.scale.maxReplicas } : {}),
      rules: (template.scale?.rules ?? []).map((r) => ({ ...r })),
    },
  };
}
