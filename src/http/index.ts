export { createApp, type AppDeps, type CheckResult, type ErrorBody, type HttpContext, type Mount, type ReadinessCheck } from './app.js';
export { createMetricsRegistry, httpRequestDuration } from './metrics.js';
export { listen, type HttpServer } from './server.js';
export { cachedCheck, opsRouter } from './ops.js';
