import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GrantlineConfig } from '../config/schema.js';
import type { Mount, ReadinessCheck } from '../http/app.js';
import type { Kafka, TopicNames, TopicSpec } from '../kafka/index.js';
import { ingressRole, lifecycleRole, processorRole, type PipelineRoleParts } from '../pipeline/roles.js';
import type { PipelineRuntime } from '../pipeline/runtime.js';
import type { Component } from './service.js';

/** The roles `grantline serve --role` knows (docs/architecture.md: each scales out as a consumer group). */
export const ROLE_NAMES = ['ingress', 'processor', 'lifecycle'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** What a role gets to build its parts from. */
export interface RoleContext {
  readonly config: GrantlineConfig;
  readonly logger: Logger;
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  /** Prometheus registry served on `/metrics`; add the role's counters and histograms here. */
  readonly registry: Registry;
  /**
   * The one pipeline runtime of this process (catalog and directory in force, keys, connectors,
   * shared producer and views), built by the wiring on first use and shared by every role.
   */
  runtime(): Promise<PipelineRuntime>;
  /** Report that a running component broke: the service stops and the process exits non-zero. */
  fail(err: unknown, component: string): void;
  /**
   * The time the pipeline decides by (grant validity, expiry, overdue checks). Absent: the wall
   * clock. Tests set it to move time forward without waiting.
   */
  readonly clock?: () => Date;
}

/** What a role adds to the process. Everything is optional; nothing here is started yet. */
export interface RoleParts {
  /** Started in order after the topics exist and before HTTP; stopped in reverse after HTTP drained. */
  readonly components?: readonly Component[];
  /** HTTP routes (webhooks) added to the one app, as `mount(app, ctx)` functions. */
  readonly mounts?: readonly Mount[];
  /** HTTP routes (JWKS, ...) added as `express.Router`s. */
  readonly routers?: readonly Router[];
  /** Topics the role needs beyond the shared ones (e.g. grant topics per catalog channel). */
  readonly topics?: readonly TopicSpec[];
  /** Extra `/readyz` checks. */
  readonly readiness?: readonly ReadinessCheck[];
}

export type RoleFactory = (ctx: RoleContext) => RoleParts | Promise<RoleParts>;

/**
 * The one place roles are registered. The HTTP app (health, readiness, metrics) runs for every
 * role; a role adds its consumers, routes and topics.
 */
export const roles: Partial<Record<RoleName, RoleFactory>> = {
  ingress: (ctx) => pipelineRole(ctx, ingressRole),
  processor: (ctx) => pipelineRole(ctx, processorRole),
  lifecycle: (ctx) => pipelineRole(ctx, lifecycleRole),
};

/** Builds a pipeline role with the process's one runtime. */
async function pipelineRole(ctx: RoleContext, build: (pctx: Parameters<typeof ingressRole>[0]) => PipelineRoleParts): Promise<RoleParts> {
  const runtime = await ctx.runtime();
  return build({
    config: ctx.config,
    logger: ctx.logger,
    kafka: ctx.kafka,
    topics: ctx.topics,
    runtime,
    fail: (err, component) => ctx.fail(err, component),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
  });
}

/** `all` → every registered role; otherwise the one named. Unknown or unregistered roles are errors. */
export function selectRoles(requested: string): { ok: true; roles: RoleName[] } | { ok: false; error: string } {
  if (requested === 'all') {
    return { ok: true, roles: ROLE_NAMES.filter((r) => roles[r] !== undefined) };
  }
  if (!(ROLE_NAMES as readonly string[]).includes(requested)) {
    return { ok: false, error: `unknown role "${requested}"; roles: ${[...ROLE_NAMES, 'all'].join(', ')}` };
  }
  const role = requested as RoleName;
  if (roles[role] === undefined) return { ok: false, error: `role "${role}" is not available in this build yet` };
  return { ok: true, roles: [role] };
}
