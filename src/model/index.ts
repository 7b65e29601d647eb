export * from './common.js';
export * from './request.js';
export * from './decision.js';
export * from './lifecycle.js';
export * from './text.js';
export * from './adapter.js';
export * from './directory-record.js';
