export * from './entry';
export * from './builders';
export * from './logLine';
export * from './cursor';
export * from './memory';
