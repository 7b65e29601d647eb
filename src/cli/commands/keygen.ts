import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ed25519Jwk } from '../../custody/index.js';

const USAGE = `usage: grantline keygen --kid NAME [--out DIR]

Writes a new Ed25519 signing key to DIR/NAME.pem (mode 0600; default DIR is the current directory),
then prints the config snippet that uses it and its public JWK. The private key is never printed.

  --kid NAME   key id, published in the JWKS and in every signature header (letters, digits, . _ -)
  --out DIR    directory for the key file; created (mode 0700) when missing`;

/** Terminal access, replaceable in tests. */
export type KeygenIo = { out: (line: string) => void; err: (line: string) => void };

const defaultIo: KeygenIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

// The kid becomes a file name, so it must not be able to name a path.
const KID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `grantline keygen`: exit 0 when the key was written, 1 when it could not be, 2 on bad input. */
export async function run(argv: string[], io: KeygenIo = defaultIo): Promise<number> {
  let values: { kid?: string | undefined; out?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { kid: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const path = resolve(dir, `${kid}.pem`);

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // `wx`: never overwrite an existing key; a lost key means grants that no longer verify.
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.err(
      code === 'EEXIST'
        ? `grantline keygen: ${path} already exists; choose another --kid or move the old key away`
        : `grantline keygen: cannot write ${path}${code ? ` (${code})` : ''}`,
    );
    return 1;
  }

  const jwk = ed25519Jwk(publicKey, kid);
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString().trimEnd();
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
