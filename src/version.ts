import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Reads the version from grantline's own `package.json`, the one home of the version number. The
 * file is found by walking up from this module, so it works from the sources (`src/version.ts`, run
 * by tsx), from the build (`dist/src/version.js`) and from an installed package alike.
 */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth += 1) {
    const text = readPackageJson(join(dir, 'package.json'));
    if (text !== null) {
      const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (pkg.name === 'grantline' && typeof pkg.version === 'string' && pkg.version !== '') return pkg.version;
    }
    dir = dirname(dir);
  }
  // Only a broken package (package.json not shipped beside the code) gets here.
  throw new Error(`grantline: cannot find its package.json above ${dirname(fileURLToPath(import.meta.url))}`);
}

function readPackageJson(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** grantline's version, from its `package.json`; recorded as `decidedBy` in custody and printed by `grantline --version`. */
export const GRANTLINE_VERSION: string = readVersion();
