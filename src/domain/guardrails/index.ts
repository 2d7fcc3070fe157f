export * from './drift';
export * from './findings';
export * from './settings';
