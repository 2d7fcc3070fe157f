export type * from './types';
export { memberRolloutId, releaseIdFor } from './ids';
export { parseMemberReport, parseReleaseCommand } from './events';
export { buildReleaseInput, memberPlan, planFromRelease } from './plan';
export { isReleaseDocument, releaseKeyOf, releaseSchema, type ReleaseDocument } from './schema';
export { releaseProblems } from './validate';
