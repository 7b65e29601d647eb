import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ed25519Jwk } from '../../custody/index.js';

const USAGE = `usage: grantline keygen --kid NAME [--internal | --operator] [--out DIR]

Writes a new key to DIR (mode 0600; default DIR is the current directory), then prints the config
snippet that uses it. The secret or private key is never printed.

  (default)    an Ed25519 signing key DIR/NAME.pem for grants (signing section) and its public JWK
  --internal   a random 32-byte MAC key DIR/NAME.key for grantline's internal topics (trust.internal)
  --operator   an operator's Ed25519 key DIR/NAME.pem for grantline revoke --key; NAME is the
               operator's directory principal id; prints the trust.operators entry
  --kid NAME   key id (letters, digits, . _ -; for --internal no ".")
  --out DIR    directory for the key file; created (mode 0700) when missing`;

/** Terminal access, replaceable in tests. */
export type KeygenIo = { out: (line: string) => void; err: (line: string) => void };

const defaultIo: KeygenIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

// The kid becomes a file name, so it must not be able to name a path.
const KID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `grantline keygen`: exit 0 when the key was written, 1 when it could not be, 2 on bad input. */
export async function run(argv: string[], io: KeygenIo = defaultIo): Promise<number> {
  let values: { kid?: string | undefined; out?: string | undefined; internal?: boolean | undefined; operator?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { kid: { type: 'string' }, out: { type: 'string' }, internal: { type: 'boolean' }, operator: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    io.err(`grantline keygen: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.kid === undefined || !KID.test(values.kid)) {
    io.err(`grantline keygen: --kid is required: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit\n\n${USAGE}`);
    return 2;
  }
  const kid = values.kid;
  const dir = resolve(values.out ?? '.');
  if (values.internal && values.operator) {
    io.err(`grantline keygen: --internal and --operator are different keys; choose one\n\n${USAGE}`);
    return 2;
  }
  if (values.internal) {
    if (kid.includes('.')) {
      io.err(`grantline keygen: an internal key's --kid may not hold "." (it travels in the grantline-mac header)\n\n${USAGE}`);
      return 2;
    }
    const path = resolve(dir, `${kid}.key`);
    if (!(await writeKey(dir, path, `${randomBytes(32).toString('base64')}\n`, io))) return 1;
    io.out(`wrote internal MAC key ${path} (mode 0600); every grantline process needs it, nothing else may have it\n`);
    io.out(
      [
        'trust:',
        '  internal:',
        `    activeKid: ${kid}`,
        '    keys:',
        `      - kid: ${kid}`,
        `        secret: \${file:${path}}`,
        '      # when rotating: add the new key on every process first, then make it active;',
        '      # drop the old one once nothing it sealed is still read.',
      ].join('\n'),
    );
    return 0;
  }
  const path = resolve(dir, `${kid}.pem`);

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  if (!(await writeKey(dir, path, pem, io))) return 1;

  const jwk = ed25519Jwk(publicKey, kid);
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString().trimEnd();
  if (values.operator) {
    io.out(`wrote operator key ${path} (mode 0600); only operator ${kid} may hold it (grantline revoke --key ${path})\n`);
    io.out(['trust:', '  operators:', `    - id: ${kid}`, '      publicKeyPem: |', ...publicPem.split('\n').map((l) => `        ${l}`)].join('\n'));
    return 0;
  }
  io.out(`wrote private key ${path} (mode 0600); keep it out of version control\n`);
  io.out('config (signing section):\n');
  io.out(
    [
      'signing:',
      `  activeKid: ${kid}`,
      '  keys:',
      `    - kid: ${kid}`,
      `      privateKeyPem: \${file:${path}}`,
      '  # when rotating, move the previous kid here so its grants still verify:',
      '  # retiredPublicKeys:',
      '  #   - kid: <old kid>',
      '  #     publicKeyPem: |',
      '  #       -----BEGIN PUBLIC KEY-----',
      '',
    ].join('\n'),
  );
  io.out('public key (for retiredPublicKeys after the next rotation):\n');
  io.out(`${publicPem}\n`);
  io.out('public JWK (served at /.well-known/jwks.json):\n');
  io.out(JSON.stringify(jwk, null, 2));
  return 0;
}

/** Writes a new key file owner-only; never overwrites one. Returns false (reported) on failure. */
async function writeKey(dir: string, path: string, content: string, io: KeygenIo): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // `wx`: never overwrite an existing key; a lost key means messages that no longer verify.
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.err(
      code === 'EEXIST'
        ? `grantline keygen: ${path} already exists; choose another --kid or move the old key away`
        : `grantline keygen: cannot write ${path}${code ? ` (${code})` : ''}`,
    );
    return false;
  }
}
