/**
 * `npm run schemas`: writes the JSON Schema (draft 2020-12) of every published message type into
 * `schemas/`, generated from the zod schemas in `src/model`. Adapter authors read these files, not
 * our TypeScript; `test/unit/schemas.test.ts` fails when they are stale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { registeredKinds } from '../src/connector/kinds.js';
import { wiredConnectorTypes } from '../src/service/connector-types.js';
import { AdapterAlert, ApprovalEvidenceKind, CustodyEvent, DecisionRequestRecord, EntitlementRequest, FulfillmentResult, Grant, GrantAmendment, IdentityLifecycleEvent, LifecycleAlert, PolicyAlert, Rejection, Revocation, SourceIdentityKind, TrustAlert } from '../src/model/index.js';

/** Base of every schema's `$id`. */
export const SCHEMA_BASE_URL = 'https://grantline.dev/schemas/';

interface Published {
  readonly file: string;
  readonly title: string;
  readonly version: number;
  readonly description: string;
  readonly schema: z.ZodType;
  /** `input` where defaults make fields optional for whoever writes the message. */
  readonly io: 'input' | 'output';
}

const PUBLISHED: readonly Published[] = [
  {
    file: 'grant.v1.json',
    title: 'Grant',
    version: 1,
    description:
      'A signed grant on access.grants.<channel>.v1 (CloudEvent type grant.issued). Verify `signature`, a detached EdDSA JWS over the RFC 8785 canonical JSON of the message without `signature`, against the grantline JWKS before acting on it.',
    schema: Grant,
    io: 'output',
  },
  {
    file: 'rejection.v1.json',
    title: 'Rejection',
    version: 1,
    description: 'A refused request on access.requests.rejected.v1, with every failing rule as a stable reason code.',
    schema: Rejection,
    io: 'output',
  },
  {
    file: 'revocation.v1.json',
    title: 'Revocation',
    version: 1,
    description: "The end of a grant (CloudEvent type grant.revoked), on the grant's own topic and key.",
    schema: Revocation,
    io: 'output',
  },
  {
    file: 'grant-amendment.v1.json',
    title: 'GrantAmendment',
    version: 1,
    description:
      "A change of a grant in force (CloudEvent type grant.amended), on the grant's own topic and key: the new expiresAt when the grant's TTL counts from fulfillment. Verify its signature like a grant's; then the grant ends at this expiresAt.",
    schema: GrantAmendment,
    io: 'output',
  },
  {
    file: 'custody-event.v1.json',
    title: 'CustodyEvent',
    version: 1,
    description: 'One hash-chained chain-of-custody entry on access.custody.v1.',
    schema: CustodyEvent,
    io: 'output',
  },
  {
    file: 'fulfillment-result.v1.json',
    title: 'FulfillmentResult',
    version: 1,
    description:
      "An adapter's report on access.fulfillment.results.v1. `signature`, when present, is the adapter's own detached EdDSA JWS over the RFC 8785 canonical JSON of the result without `signature`; grantline acts only on results signed by a key registered for the grant's channel (trust.adapters) and refuses the others.",
    schema: FulfillmentResult,
    io: 'output',
  },
  {
    file: 'entitlement-request.v1.json',
    title: 'EntitlementRequest',
    version: 1,
    description: 'The canonical entitlement request a connector maps a ticket to; what `grantline evaluate --request` reads.',
    schema: EntitlementRequest,
    io: 'input',
  },
  {
    file: 'identity-lifecycle-event.v1.json',
    title: 'IdentityLifecycleEvent',
    version: 1,
    description: 'An offboarding or deactivation from HR or the identity provider, on identity.lifecycle.v1: the principal\'s grants and those of NHIs they own are revoked.',
    schema: IdentityLifecycleEvent,
    io: 'input',
  },
  {
    file: 'lifecycle-alert.v1.json',
    title: 'LifecycleAlert',
    version: 1,
    description: 'An alert on grantline.alerts.v1: a revocation no adapter confirmed in time, or a break-glass review past its deadline.',
    schema: LifecycleAlert,
    io: 'output',
  },
  {
    file: 'policy-alert.v1.json',
    title: 'PolicyAlert',
    version: 1,
    description:
      'An alert on grantline.alerts.v1 (CloudEvent type policy.alert): a new version of the catalog or directory was refused, with every problem and its path; the versions in `inForce` still decide.',
    schema: PolicyAlert,
    io: 'output',
  },
  {
    file: 'adapter-alert.v1.json',
    title: 'AdapterAlert',
    version: 1,
    description:
      'An alert a fulfillment adapter (the adapter kit) raises on grantline.alerts.v1 (CloudEvent type adapter.alert): a message on the grant topic that did not verify, privilege no active grant explains (drift), or a provision or revocation the target refused.',
    schema: AdapterAlert,
    io: 'output',
  },
  {
    file: 'decision-request.v1.json',
    title: 'DecisionRequestRecord',
    version: 1,
    description:
      'The canonical request a decision was taken on, on grantline.decision-requests.v1 (CloudEvent type decision.request), keyed by ticket; what `grantline whatif` re-decides. `requestSha256` is the SHA-256 of the RFC 8785 canonical JSON of `request`, also recorded in the custody event of the decision (`custody.eventId`).',
    schema: DecisionRequestRecord,
    io: 'output',
  },
  {
    file: 'trust-alert.v1.json',
    title: 'TrustAlert',
    version: 1,
    description:
      'An alert on grantline.alerts.v1 (CloudEvent type trust.alert): grantline refused to act on a message it read (no MAC or a wrong one on an internal topic; an unsigned, unknown-key or wrongly signed message on a signed input; a signer not authorized for it). The message is in the DLQ; the alert id is its position, so every process that refused it raises the same alert.',
    schema: TrustAlert,
    io: 'output',
  },
];

/**
 * Every published schema by file name. Objects allow unknown properties, so adding an optional field
 * is not a breaking change; removing or renaming one needs a v2 file. `version` is a grantline annotation keyword: validators in
 * strict mode (ajv) need it declared, e.g. `ajv.addKeyword('version')`.
 */
export function buildSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  // The kinds the published schemas list are those of this build's connector types, as the service has them.
  wiredConnectorTypes();
  const kinds = registeredKinds();
  for (const p of PUBLISHED) {
    const generated = z.toJSONSchema(p.schema, {
      target: 'draft-2020-12',
      io: p.io,
      unrepresentable: 'throw',
      // Within v1 we may ADD optional fields; a consumer validating against this file must not
      // refuse them. zod's output mode would forbid extra keys on every (stripping) object.
      override: ({ zodSchema, jsonSchema }) => {
        if (zodSchema._zod.def.type === 'object' && jsonSchema.additionalProperties === false) {
          delete jsonSchema.additionalProperties;
        }
        // Kinds are registered by the connectors, not closed in the model: publish the known ones.
        // (in the description: `examples` is a keyword draft-07 readers of asyncapi.yaml would not take as written).
        if (zodSchema === SourceIdentityKind) {
          jsonSchema.description = `A kind registered by the connector that produces it. Registered: ${kinds.identities.map((k) => k.kind).join(', ')}.`;
        }
        if (zodSchema === ApprovalEvidenceKind) {
          jsonSchema.description = `A kind registered by the connector that produces it. Registered: ${kinds.evidence.map((k) => k.kind).join(', ')}; structured approvals among them: ${kinds.evidence.filter((k) => k.structured).map((k) => k.kind).join(', ')}. Any other kind never counts as an approval.`;
        }
      },
    }) as Record<string, unknown>;
    const { $schema, ...body } = generated;
    out[p.file] = {
      $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema',
      $id: `${SCHEMA_BASE_URL}${p.file}`,
      title: p.title,
      version: p.version,
      description: p.description,
      ...body,
    };
  }
  return out;
}

/** The exact text written for one schema (the staleness test compares these). */
export function renderSchema(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** The repository's `schemas/` directory. */
export const SCHEMAS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

async function main(): Promise<void> {
  await mkdir(SCHEMAS_DIR, { recursive: true });
  for (const [file, schema] of Object.entries(buildSchemas())) {
    await writeFile(resolve(SCHEMAS_DIR, file), renderSchema(schema), 'utf8');
    console.log(`wrote schemas/${file}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
