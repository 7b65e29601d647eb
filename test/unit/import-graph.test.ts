/**
 * The module map's two import rules (docs/architecture.md, "Module map of the pipeline"): only
 * `src/service` imports the connector registry, and no module of `src/` or `connectors/` imports
 * itself back through others, type-only and dynamic imports included. The imports are read with
 * TypeScript's own pre-processor, so comments and strings never count.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const REGISTRY = 'connectors/registry.ts';

/** Repository-relative paths (with `/`) of the modules under `dir`, tests left out: nothing imports them. */
function modules(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...modules(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The modules `file` imports among the repository's own `.ts` files (packages and JSON left out). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(join(ROOT, file), '..', fileName.replace(/\.js$/, '.ts'));
    if (target.endsWith('.ts') && existsSync(target)) out.push(relative(ROOT, target).split(sep).join('/'));
  }
  return out;
}

const graph = new Map<string, string[]>([...modules('src'), ...modules('connectors')].map((file) => [file, importsOf(file)]));

/** Every cycle, once each, as the list of modules around it (depth-first search over the graph). */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        found.set([...cycle].sort().join(' '), [...cycle, next]);
      } else if (state.get(next) === undefined && edges.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (state.get(file) === undefined) visit(file);
  return [...found.values()];
}

describe('import graph of src/ and connectors/', () => {
  it('reads the imports it checks (the graph is not empty, the service reads the registry)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect([...graph].filter(([, imports]) => imports.includes(REGISTRY)).map(([file]) => file)).toContain('src/service/connector-types.ts');
  });

  it('has only src/service import connectors/registry.ts', () => {
    const importers = [...graph].filter(([file, imports]) => file.startsWith('src/') && !file.startsWith('src/service/') && imports.includes(REGISTRY)).map(([file]) => file);
    expect(importers).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(cycles(graph).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('finds a cycle where there is one', () => {
    const looped = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    expect(cycles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
