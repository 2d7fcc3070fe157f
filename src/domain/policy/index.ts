export { loadPolicies, parsePolicies } from './load';
export { findPoliciesForImage, findPolicyByApp, type PushedImage } from './match';
export { gateProviders, policySchema, type Policy, type PolicyDocument } from './schema';
