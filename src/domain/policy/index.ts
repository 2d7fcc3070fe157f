export { loadPolicies, loadPolicySet, parsePolicies, parsePolicySet, type PolicySet } from './load';
export { findPoliciesForImage, findPolicyByApp, type PushedImage } from './match';
export { gateProviders, policySchema, type Policy, type PolicyDocument } from './schema';
