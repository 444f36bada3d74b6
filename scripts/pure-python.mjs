// What the task ships and where its lock lives, shared by the build (scripts/wheels.mjs) and the lock refresh
// (scripts/lock.mjs), so that both resolve exactly the same way.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './proc.mjs';

/** The CPython versions the task supports (pyproject's requires-python is >=3.10; azure-pipelines.yml tests them). */
export const PYTHON_VERSIONS = ['3.10', '3.11', '3.12', '3.13'];
/** Optional parts of the core the task uses: `azure-devops` posts pull request statuses and comments. */
export const CORE_EXTRAS = ['azure-devops'];
/** The folder of the hashed locks, one per Python version: requirements/wheels-3.12.txt. */
export const LOCK_DIR = 'requirements';
/** The command that rewrites the locks from pyproject.toml. */
export const LOCK_COMMAND = 'npm run lock';

/**
 * pip options that pick pure-Python (`*-none-any`) wheels for a Python version, whatever this machine runs: pure
 * wheels serve Linux (x64, arm64), Windows and macOS agents alike (pip's documentation, "pip download":
 * --platform, --implementation, --abi, --python-version; --only-binary=:all: is required with them).
 * @param {string} version e.g. "3.12"
 */
export function pureWheelOptions(version) {
  return [
    '--only-binary=:all:',
    '--platform',
    'any',
    '--implementation',
    'py',
    '--abi',
    'none',
    '--python-version',
    version,
  ];
}

/** @param {string} root @param {string} version */
export function lockPath(root, version) {
  return join(root, LOCK_DIR, `wheels-${version}.txt`);
}

/** A distribution name as pip compares them (PEP 503 normalisation): "Pygments" and "pygments" are one package. */
export function normalizedName(name) {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * Reads a lock written by scripts/lock.mjs.
 * @param {string} text
 * @returns {{name: string, version: string, sha256: string}[]}
 */
export function parseLock(text) {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const entries = [];
  for (const line of joined.split(/\r?\n/)) {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s+--hash=sha256:([0-9a-f]{64})\s*$/.exec(line.trim());
    if (match) {
      entries.push({ name: normalizedName(match[1]), version: match[2], sha256: match[3] });
    }
  }
  return entries;
}

/**
 * What pip would install for `requirement` on a Python version, as pure-Python wheels, without installing anything:
 * the `install` list of its installation report (`pip install --dry-run --report`, pip's documentation
 * "Installation Report", format version 1: each item's metadata and download_info with the file's sha256).
 * @param {{python: string, version: string, requirement: string, work: string, pipOptions?: string[]}} options
 *   `work` a scratch folder; `pipOptions` e.g. where to look for packages
 * @returns {Promise<{metadata: {name: string, version: string},
 *   download_info: {dir_info?: object, archive_info?: {hashes?: {sha256?: string}}}}[]>}
 */
export async function pipResolve({ python, version, requirement, work, pipOptions = [] }) {
  const report = join(work, `report-${version}.json`);
  await run(python, [
    '-m',
    'pip',
    'install',
    ...pipOptions,
    '--quiet',
    '--dry-run',
    '--ignore-installed',
    '--report',
    report,
    '--target',
    join(work, `target-${version}`),
    ...pureWheelOptions(version),
    requirement,
  ]);
  return JSON.parse(await readFile(report, 'utf8')).install;
}
