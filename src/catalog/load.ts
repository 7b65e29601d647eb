import { readFile } from 'node:fs/promises';
import { parseCatalog, type Catalog } from './catalog.js';
import { parseDirectory, type YamlDirectory } from './directory.js';

// The only file I/O of the catalog module; everything else here is pure.

/** Reads and validates a catalog YAML file. Throws `InvalidDocumentError` naming the file and every bad field. */
export async function loadCatalog(path: string): Promise<Catalog> {
  return parseCatalog(await readFile(path, 'utf8'), path);
}

/** Reads and validates a directory YAML file. Throws `InvalidDocumentError` naming the file and every bad field. */
export async function loadDirectory(path: string): Promise<YamlDirectory> {
  return parseDirectory(await readFile(path, 'utf8'), path);
}
