// Paths and files the packaging tests read: the repository's manifests and Microsoft's schemas.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Microsoft's schemas, vendored read-only (origin, commit and license in SOURCES.md there). */
export const SCHEMAS = join(ROOT, 'tests', 'schemas');

/** @param {string} path relative to the repository, or absolute */
export function readJson(path) {
  return JSON.parse(readFileSync(path.startsWith('/') ? path : join(ROOT, path), 'utf8'));
}

/** @param {string} name e.g. "tasks.schema.json" */
export function sharedSchema(name) {
  const path = join(SCHEMAS, name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: the tests validate against the schemas vendored in tests/schemas`);
  }
  return readJson(path);
}

/** The source of one top-level function of a Python file (up to the next top-level definition). */
export function pythonFunction(relativePath, name) {
  const source = readFileSync(join(ROOT, relativePath), 'utf8');
  const start = source.indexOf(`\ndef ${name}(`);
  if (start < 0) {
    throw new Error(`${relativePath} has no function ${name}`);
  }
  const end = source.slice(start + 1).search(/\n(def|class) /);
  return end < 0 ? source.slice(start) : source.slice(start, start + 1 + end);
}
