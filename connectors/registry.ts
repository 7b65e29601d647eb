import type { ConnectorType } from '../src/connector/contract.js';
import { jiraConnector } from './jira/index.js';
import { jsonWebhookConnector } from './json-webhook/index.js';
import { serviceNowConnector } from './servicenow/index.js';

/**
 * Every connector type grantline knows. Adding a connector is adding its folder and one line here.
 */
export const connectorTypes = {
  jira: jiraConnector,
  servicenow: serviceNowConnector,
  'json-webhook': jsonWebhookConnector,
} satisfies Record<string, ConnectorType>;

export type ConnectorTypeId = keyof typeof connectorTypes;
