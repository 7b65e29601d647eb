import { connectorTypes as registry } from '../../connectors/registry.js';
import type { ConnectorType } from '../connector/contract.js';
import { registerConnectorKinds } from '../connector/kinds.js';

/**
 * The connector types of this build (`connectors/registry.ts`), with the identity and evidence kinds
 * they register put in force for the process (`src/connector/kinds.ts`). The one door to the
 * registry: the runtime, config load and the CLI get their connector types here, so the kinds that
 * approvals and directory lookups see are those of the types the process runs with. Calling it
 * again returns the same types and registers nothing new.
 */
export function wiredConnectorTypes(): Readonly<Record<string, ConnectorType>> {
  registerConnectorKinds(registry);
  return registry;
}
