export * from './common.js';
export * from './request.js';
export * from './decision.js';
