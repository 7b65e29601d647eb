import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EntitlementSnapshot, RevocationTrigger, SubjectType } from '../model/index.js';
import { DurationSeconds } from './duration.js';
import { InvalidDocumentError, issuesFromZod } from './errors.js';
import { contentVersion, deepFreeze } from './hash.js';

const Id = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, ".", "_" or "-"');
/** A directory group name, as the directory's `groups:` section spells it. */
export const GroupName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a directory group name');

export const EntitlementKind = EntitlementSnapshot.shape.kind;
export type EntitlementKind = z.infer<typeof EntitlementKind>;

export const Sensitivity = z.enum(['low', 'medium', 'high', 'critical']);
export type Sensitivity = z.infer<typeof Sensitivity>;

/** At least `min` distinct approvers who are members of `group`. */
export const GroupRequirement = z.strictObject({ group: GroupName, min: z.number().int().min(1).default(1) });
export type GroupRequirement = z.infer<typeof GroupRequirement>;

/**
 * Who approves, written one of two ways:
 * - `groups: [{ group, min }]`: every group's minimum, each approver filling one slot only
 *   ("one from payments-owners AND one from security" needs two different people);
 * - `pool: [groups...]` with `minDistinct`: that many distinct approvers from any of the groups.
 */
export const ApproverPolicy = z
  .strictObject({
    groups: z.array(GroupRequirement).min(1).optional(),
    pool: z.array(GroupName).min(1).optional(),
    minDistinct: z.number().int().min(1).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.groups !== undefined && (value.pool !== undefined || value.minDistinct !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'use either "groups" or "pool" with "minDistinct", not both' });
    } else if (value.groups === undefined && value.pool === undefined) {
      ctx.addIssue({ code: 'custom', message: 'name the approvers: "groups" or "pool" with "minDistinct"' });
    } else if (value.pool !== undefined && value.minDistinct === undefined) {
      ctx.addIssue({ code: 'custom', path: ['minDistinct'], message: '"pool" needs "minDistinct"' });
    } else if (value.minDistinct !== undefined && value.pool === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pool'], message: '"minDistinct" needs a "pool" of groups' });
    }
  })
  .transform((value) =>
    value.groups !== undefined
      ? { kind: 'groups' as const, groups: value.groups }
      : { kind: 'pool' as const, pool: value.pool ?? [], minDistinct: value.minDistinct ?? 1 },
  );
export type ApproverPolicy = z.infer<typeof ApproverPolicy>;

export const TtlPolicy = z
  .strictObject({
    /** Applied when the ticket asks for no TTL. Optional only when `required` is true. */
    defaultSeconds: DurationSeconds.optional(),
    maxSeconds: DurationSeconds,
    /** When true, a ticket without a TTL is rejected (`TTL_REQUIRED`) instead of getting the default. */
    required: z.boolean().default(false),
  })
  .superRefine((value, ctx) => {
    if (value.defaultSeconds === undefined && !value.required) {
      ctx.addIssue({ code: 'custom', path: ['defaultSeconds'], message: 'needed unless "required: true"' });
    }
    if (value.defaultSeconds !== undefined && value.defaultSeconds > value.maxSeconds) {
      ctx.addIssue({ code: 'custom', path: ['defaultSeconds'], message: `exceeds maxSeconds (${value.maxSeconds})` });
    }
  });
export type TtlPolicy = z.infer<typeof TtlPolicy>;

export const BreakGlassPolicy = z.discriminatedUnion('allowed', [
  z.strictObject({ allowed: z.literal(false) }),
  z.strictObject({
    allowed: z.literal(true),
    /** Cap on a break-glass grant's TTL; also its default. */
    maxTtlSeconds: DurationSeconds,
    /** The post-event review is due this long after the grant starts. */
    reviewWithinSeconds: DurationSeconds,
    /**
     * Who may invoke break-glass: the requester must be a member of one of these directory groups
     * (on-call, say); anyone else is refused (`BREAK_GLASS_NOT_ALLOWED`). Absent: any active requester.
     */
    allowedGroups: z.array(GroupName).min(1).optional(),
    /**
     * How many active break-glass grants (of any entry) one person may hold when invoking this one;
     * at the limit the request is refused (`BREAK_GLASS_LIMIT_REACHED`). Absent: no limit.
     */
    maxActivePerPerson: z.number().int().min(1).optional(),
  }),
]);
export type BreakGlassPolicy = z.infer<typeof BreakGlassPolicy>;

/** One grantable entitlement. Field names are what the catalog YAML uses. */
export const CatalogEntry = z
  .strictObject({
    id: Id,
    description: z.string().optional(),
    kind: EntitlementKind,
    /** Target system, e.g. `postgres`, `vault`, `github-actions`. */
    system: z.string().min(1),
    resource: z.string().min(1),
    environments: z.array(z.string().min(1)).min(1),
    sensitivity: Sensitivity,
    subjectTypes: z.array(SubjectType).min(1),
    approvers: ApproverPolicy,
    /** May the requester count as one of the approvers? The design's default: never. */
    requesterMayApprove: z.boolean().default(false),
    /** For NHI subjects: may the subject's owner count as an approver? */
    subjectOwnerMayApprove: z.boolean().default(false),
    /**
     * For human subjects only: may the subject's manager approve in place of a group member? A manager
     * never approves for a non-human identity unless they are named in an approver group.
     */
    managerMayApprove: z.boolean().default(false),
    /** Distinct authorized approvers an NHI needs in a production environment, whatever `approvers` says. */
    nhiProdMinApprovers: z.number().int().min(1).default(2),
    ttl: TtlPolicy,
    /**
     * `required`: a request without a justification (empty or blank text, no code) is refused
     * (`MISSING_FIELD` on `justification`). Absent or `optional`: none is needed.
     */
    justification: z.enum(['required', 'optional']).optional(),
    breakGlass: BreakGlassPolicy.default({ allowed: false }),
    /**
     * When the TTL starts: `decision` (absent: the default) or `fulfillment`, when an adapter reports
     * the grant provisioned (grantline then publishes a signed `grant.amended` with the new expiry).
     */
    ttlStartsAt: z.enum(['decision', 'fulfillment']).optional(),
    /** Fulfillment channel; the grant goes to `access.grants.<channel>.v1`. */
    channel: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case channel name such as "pam" or "secrets"'),
    revocationTriggers: z.array(RevocationTrigger).min(1).default(['ttl-expired', 'ticket-cancelled', 'owner-offboarded']),
  })
  .superRefine((entry, ctx) => {
    if (entry.breakGlass.allowed && entry.breakGlass.maxTtlSeconds > entry.ttl.maxSeconds) {
      ctx.addIssue({ code: 'custom', path: ['breakGlass', 'maxTtlSeconds'], message: `exceeds ttl.maxSeconds (${entry.ttl.maxSeconds})` });
    }
    // Every grant has a TTL, so its expiry always ends it; a catalog cannot opt out of that.
    if (!entry.revocationTriggers.includes('ttl-expired')) {
      ctx.addIssue({ code: 'custom', path: ['revocationTriggers'], message: 'must include "ttl-expired"' });
    }
    if (new Set(entry.revocationTriggers).size !== entry.revocationTriggers.length) {
      ctx.addIssue({ code: 'custom', path: ['revocationTriggers'], message: 'lists a trigger twice' });
    }
  });
export type CatalogEntry = z.infer<typeof CatalogEntry>;

/** The catalog document as written in YAML, after validation and normalization. */
export const CatalogDocument = z
  .strictObject({
    /** Environments that count as production (NHI access there needs `nhiProdMinApprovers`). */
    productionEnvironments: z.array(z.string().min(1)).min(1).default(['prod']),
    entitlements: z.array(CatalogEntry).min(1),
  })
  .superRefine((doc, ctx) => {
    const seen = new Map<string, number>();
    doc.entitlements.forEach((entry, index) => {
      const first = seen.get(entry.id);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['entitlements', index, 'id'], message: `"${entry.id}" is already used by entitlements[${first}]` });
      } else {
        seen.set(entry.id, index);
      }
    });
  });
export type CatalogDocument = z.infer<typeof CatalogDocument>;

/**
 * The validated, immutable entitlement catalog. `version` is the content hash of the normalized
 * document, so every decision can name exactly which catalog it was made against.
 */
export class Catalog {
  readonly version: string;
  readonly productionEnvironments: readonly string[];
  readonly #entries: ReadonlyMap<string, CatalogEntry>;

  constructor(document: CatalogDocument) {
    const frozen = deepFreeze(structuredClone(document));
    this.version = contentVersion(frozen);
    this.productionEnvironments = frozen.productionEnvironments;
    this.#entries = new Map(frozen.entitlements.map((entry) => [entry.id, entry]));
  }

  /** The entry with this id, or null when the catalog has none. */
  get(id: string): CatalogEntry | null {
    return this.#entries.get(id) ?? null;
  }

  /** All entries in document order. */
  entries(): readonly CatalogEntry[] {
    return [...this.#entries.values()];
  }

  isProduction(environment: string): boolean {
    return this.productionEnvironments.includes(environment);
  }
}

/** Parses YAML text into a plain value, reporting syntax errors as an `InvalidDocumentError`. */
export function parseYamlDocument(text: string, document: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InvalidDocumentError(document, [{ path: '', message: `not valid YAML: ${message}` }], { cause: err });
  }
}

/** Validates an already-parsed catalog value. Throws `InvalidDocumentError` listing every bad field. */
export function catalogFromValue(value: unknown, document = 'catalog'): Catalog {
  const result = CatalogDocument.safeParse(value);
  if (!result.success) throw new InvalidDocumentError(document, issuesFromZod(result.error));
  return new Catalog(result.data);
}

/** Parses catalog YAML. Pure; throws `InvalidDocumentError` listing every bad field with its path. */
export function parseCatalog(yamlText: string, document = 'catalog'): Catalog {
  return catalogFromValue(parseYamlDocument(yamlText, document), document);
}
