import type { KeyObject } from 'node:crypto';
import { MAC_HEADER, type InternalKeyring, type MessageBytes, type Opened } from './internal.js';
import { ed25519PublicKey, signBody, verifyBody } from './signed.js';

/** The member of a revoke command that carries its operator's signature. */
export const AUTHORIZATION = 'authorization';

/** `{ operator, signature }`: who signed a manual command, and their Ed25519 signature of it. */
export interface OperatorAuthorization {
  readonly operator: string;
  readonly signature: string;
}

/** Whether a principal may act now: null when they may, else why not (in words). */
export type ActivePrincipal = (id: string) => string | null;

/**
 * The operators whose signed `grantline revoke` commands grantline acts on (`trust.operators`):
 * an operator's id is their directory principal id, and they sign in their own name only.
 */
export class OperatorKeys {
  private constructor(private readonly keys: ReadonlyMap<string, KeyObject>) {}

  /** @throws Error naming the operator whose key is unusable or listed twice. */
  static load(operators: readonly { id: string; publicKeyPem: string }[]): OperatorKeys {
    const keys = new Map<string, KeyObject>();
    for (const { id, publicKeyPem } of operators) {
      if (keys.has(id)) throw new Error(`operator "${id}" is listed more than once`);
      keys.set(id, ed25519PublicKey(publicKeyPem, `operator "${id}"`));
    }
    return new OperatorKeys(keys);
  }

  get ids(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * Checks a manual command: signed (`authorization`), by a configured operator, correctly, in
   * the name of the operator who signed it (`actor`), who is an active directory principal now.
   */
  check(topic: string, command: Record<string, unknown>, active: ActivePrincipal): Opened {
    const auth = command[AUTHORIZATION] as Partial<OperatorAuthorization> | undefined;
    if (auth === undefined || typeof auth !== 'object' || auth === null || typeof auth.operator !== 'string' || typeof auth.signature !== 'string') {
      return { ok: false, reason: 'unsigned', detail: 'a manual revoke must be signed by an operator (grantline revoke --key)' };
    }
    const key = this.keys.get(auth.operator);
    if (key === undefined) return { ok: false, reason: 'unknown-key', detail: `operator "${auth.operator}" is not in trust.operators` };
    if (!verifyBody('operator-command', topic, command, AUTHORIZATION, auth.signature, key)) {
      return { ok: false, reason: 'bad-signature', detail: `the signature of operator "${auth.operator}" does not match this command on this topic` };
    }
    if (command.actor !== auth.operator) return { ok: false, reason: 'not-authorized', detail: `operator "${auth.operator}" signed a command in the name of "${String(command.actor)}"` };
    const inactive = active(auth.operator);
    if (inactive !== null) return { ok: false, reason: 'not-authorized', detail: `operator ${inactive}` };
    return { ok: true, value: command, kid: `operator:${auth.operator}` };
  }
}

/** Signs a manual command as `operator` with their Ed25519 private key (`grantline revoke --key`). */
export function signOperatorCommand<C extends Record<string, unknown>>(topic: string, command: C, operator: string, privateKey: KeyObject): C & { authorization: OperatorAuthorization } {
  const { [AUTHORIZATION]: _old, ...body } = command;
  return { ...(body as C), authorization: { operator, signature: signBody('operator-command', topic, body, AUTHORIZATION, privateKey) } };
}

function isManual(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && (value as { kind?: unknown }).kind === 'revoke' && (value as { trigger?: unknown }).trigger === 'manual';
}

/**
 * How the processor opens a message of `grantline.ticket-events.v1`: sealed by grantline (its
 * MAC), or a manual revoke signed by an operator. A manual revoke needs the operator's signature
 * even when sealed, so the internal key alone cannot revoke in a person's name.
 */
export function ticketEventOpener(keyring: InternalKeyring, operators: OperatorKeys, active: ActivePrincipal): (topic: string, message: MessageBytes) => Opened {
  return (topic, message) => {
    if (message.headers?.[MAC_HEADER] === undefined && message.value !== null) {
      let value: unknown;
      try {
        value = JSON.parse(message.value.toString());
      } catch {
        value = undefined;
      }
      if (isManual(value)) return operators.check(topic, value, active);
    }
    const opened = keyring.open(topic, message);
    if (opened.ok && isManual(opened.value)) return operators.check(topic, opened.value, active);
    return opened;
  };
}
