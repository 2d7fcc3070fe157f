export * from './admission';
export * from './calendar';
export * from './emergencyStop';
export * from './global';
export * from './override';
export * from './rules';
export { isTimeZone, localTime, instantOfLocal, offsetAt } from './zone';
