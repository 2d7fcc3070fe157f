export * from './drift';
export * from './findings';
export * from './labels';
export * from './probe';
export * from './settings';
