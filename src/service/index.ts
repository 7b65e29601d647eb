export { Service, type Component, type ServiceOptions, type ServiceState } from './service.js';
export { ROLE_NAMES, roles, selectRoles, type RoleContext, type RoleFactory, type RoleName, type RoleParts } from './roles.js';
export { buildService, type BuiltService } from './wiring.js';
export { wiredConnectorTypes } from './connector-types.js';
