import { readFile } from 'node:fs/promises';
import { Jwks } from '../custody/index.js';

/** Bad input to a CLI command (a file, a flag, a JWKS): its message is printed as is, exit 2. */
export class InputError extends Error {}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${what} ${path}${code ? ` (${code})` : ''}`);
  }
}

/** A JWK Set from a URL (`http(s)://`, e.g. the `/.well-known/jwks.json` grantline serves) or a file. */
export async function loadJwks(location: string, fetchFn: typeof fetch = fetch): Promise<Jwks> {
  let doc: unknown;
  if (/^https?:\/\//i.test(location)) {
    let response: Response;
    try {
      response = await fetchFn(location, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
    } catch (err) {
      throw new InputError(`cannot fetch the JWKS from ${location}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!response.ok) throw new InputError(`cannot fetch the JWKS from ${location}: HTTP ${response.status}`);
    doc = parseJson(await response.text(), `the JWKS from ${location}`);
  } else {
    doc = parseJson(await readText(location, 'JWKS file'), `JWKS file ${location}`);
  }
  const parsed = Jwks.safeParse(doc);
  if (!parsed.success) throw new InputError(`${location} is not a JWK Set ({ "keys": [...] })`);
  return parsed.data;
}
