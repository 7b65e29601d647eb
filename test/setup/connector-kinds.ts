/**
 * Puts this build's connector kinds in force in every test file, as the service's wiring does for a
 * process (`src/service/connector-types.ts`): tests decide requests and resolve identities through
 * directories without building a service. A lookup without it throws
 * (`test/unit/kinds-registration.test.ts`).
 */
import { wiredConnectorTypes } from '../../src/service/connector-types.js';

wiredConnectorTypes();
