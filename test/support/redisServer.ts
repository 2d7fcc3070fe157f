export { freePort, redisAnswers, startRedisServer } from '../../local/runtime/redis';
