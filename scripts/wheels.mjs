// The Python core as wheels the task carries: the dbcicd wheel built from this repository, plus every dependency as a
// pure-Python (`*-none-any`) wheel for each supported Python version, exactly as requirements/wheels-<X.Y>.txt locks
// it (name, version, sha256; `npm run lock` refreshes the locks). pip downloads them with --require-hashes, so a
// file that differs from the lock stops the build; a lock that no longer satisfies pyproject.toml's dependencies, or
// names packages they no longer need, stops it too, naming the command that refreshes it.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allSettled, run } from './proc.mjs';
import {
  CORE_EXTRAS,
  LOCK_COMMAND,
  PYTHON_VERSIONS,
  lockPath,
  normalizedName,
  parseLock,
  pipResolve,
  pureWheelOptions,
} from './pure-python.mjs';

export { PYTHON_VERSIONS };

const TASK_SOURCE = fileURLToPath(new URL('../tasks/databricks/', import.meta.url));
const { treeDigests } = createRequire(import.meta.url)(join(TASK_SOURCE, 'core.js'));

/**
 * @typedef {{name: string, version: string, sha256: string, file: string, pythons: string[]}} ShippedPackage
 * @typedef {import('../tasks/databricks/core.js').WheelManifest} WheelManifest
 */

/**
 * Builds the wheels into `dest` and writes `dest/manifest.json` (read by the task's core.js and install_wheels.py):
 * `{"sets": {"3.10": [wheel, ...], ...}, "sha256": {wheel: hex digest}, "files": {"3.10": {path: hex digest}}}`,
 * where `files` lists what the task's installer unpacks from each set, which the task checks its cache against.
 * @param {{root: string, dest: string, python: string}} options `python` runs pip (any Python >= 3.10 with pip)
 * @returns {Promise<WheelManifest & {packages: ShippedPackage[]}>} `packages`: every shipped wheel, the core's too
 */
export async function buildWheels({ root, dest, python }) {
  const work = await mkdtemp(join(tmpdir(), 'dbcicd-wheels-'));
  try {
    const coreDir = join(work, 'core');
    await run(python, ['-m', 'pip', 'wheel', '--quiet', '--no-deps', '--wheel-dir', coreDir, root]);
    const [core] = (await readdir(coreDir)).filter((name) => name.endsWith('.whl'));
    // Settled as a whole at once (so a failure is never unhandled while the core is copied below), and only once
    // every pip has exited.
    const downloads = allSettled(
      PYTHON_VERSIONS.map(async (version) => {
        const into = join(work, version);
        const lock = await readLock(root, version);
        await downloadLocked({ python, version, lock: lockPath(root, version), into });
        await checkLockMatchesProject({ python, version, root, lock, wheels: into, core: join(coreDir, core), work });
        return /** @type {const} */ ([version, into, lock]);
      }),
    );
    /** @type {Record<string, string[]>} */
    const sets = {};
    /** @type {Record<string, string>} */
    const sha256 = {};
    /** @type {Map<string, ShippedPackage>} */
    const packages = new Map();
    await mkdir(dest, { recursive: true });
    const coreDigest = await digestOf(join(coreDir, core));
    await copyFile(join(coreDir, core), join(dest, core));
    sha256[core] = coreDigest;
    const [name, version] = core.split('-');
    packages.set(core, { name: normalizedName(name), version, sha256: coreDigest, file: core, pythons: [] });
    for (const [pythonVersion, into, lock] of await downloads) {
      const names = (await readdir(into)).filter((n) => n.endsWith('.whl')).sort();
      for (const file of names) {
        const digest = await digestOf(join(into, file));
        const locked = lock.find((entry) => entry.sha256 === digest);
        if (!locked) {
          throw new Error(
            `${file} (for Python ${pythonVersion}) is not in ${relative(root, lockPath(root, pythonVersion))}`,
          );
        }
        if (!sha256[file]) {
          await copyFile(join(into, file), join(dest, file));
          sha256[file] = digest;
          packages.set(file, { ...locked, file, pythons: [] });
        }
      }
      sets[pythonVersion] = [core, ...names].sort();
      for (const file of sets[pythonVersion]) {
        packages.get(file)?.pythons.push(pythonVersion);
      }
    }
    await writeFile(join(dest, 'manifest.json'), `${JSON.stringify({ sets, sha256 }, null, 2)}\n`);
    const files = await unpackedFiles({ python, wheelsDir: dest, sets: Object.keys(sets), work });
    await writeFile(join(dest, 'manifest.json'), `${JSON.stringify({ sets, sha256, files }, null, 2)}\n`);
    return { sets, sha256, files, packages: [...packages.values()] };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * What the task's installer unpacks from each wheel set, as it will on an agent: relative path -> sha256.
 * @param {{python: string, wheelsDir: string, sets: string[], work: string}} options
 * @returns {Promise<Record<string, Record<string, string>>>}
 */
async function unpackedFiles({ python, wheelsDir, sets, work }) {
  const unpacked = sets.map(async (set) => {
    const target = join(work, 'unpacked', set);
    await run(python, ['-I', join(TASK_SOURCE, 'install_wheels.py'), wheelsDir, set, target]);
    return [set, treeDigests(target)];
  });
  return Object.fromEntries(await allSettled(unpacked));
}

/** @param {string} root @param {string} version */
async function readLock(root, version) {
  const path = lockPath(root, version);
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${relative(root, path)} is missing: run \`${LOCK_COMMAND}\` to write the locks`);
  }
  return parseLock(text);
}

/**
 * Downloads exactly the locked wheels: pip checks every file against the lock's sha256 (--require-hashes) and
 * takes only pure-Python wheels (pureWheelOptions).
 * @param {{python: string, version: string, lock: string, into: string}} options
 */
async function downloadLocked({ python, version, lock, into }) {
  await run(python, [
    '-m',
    'pip',
    'download',
    '--quiet',
    '--require-hashes',
    '--no-deps',
    ...pureWheelOptions(version),
    '--dest',
    into,
    '--requirement',
    lock,
  ]);
}

/**
 * The lock and pyproject.toml agree when pip, offered only the locked wheels (--no-index, --isolated), resolves the
 * core wheel with its extras to exactly the locked packages: a dependency added or narrowed in pyproject.toml fails
 * to resolve; one removed leaves a locked package unused.
 * @param {{python: string, version: string, root: string, lock: {name: string}[], wheels: string, core: string,
 *   work: string}} options
 */
async function checkLockMatchesProject({ python, version, root, lock, wheels, core, work }) {
  const lockName = relative(root, lockPath(root, version));
  const stale = `${lockName} does not match pyproject.toml's dependencies: run \`${LOCK_COMMAND}\``;
  let install;
  try {
    install = await pipResolve({
      python,
      version,
      work,
      requirement: `${core}[${CORE_EXTRAS.join(',')}]`,
      // no index or find-links from pip's configuration: only the locked wheels
      pipOptions: ['--isolated', '--no-index', '--find-links', wheels],
    });
  } catch (err) {
    throw new Error(`${stale}\n${/** @type {Error} */ (err).message}`);
  }
  const needed = new Set(install.map((item) => normalizedName(item.metadata.name)));
  const unused = lock.map((entry) => entry.name).filter((name) => !needed.has(name));
  if (unused.length) {
    throw new Error(`${stale} (it names ${unused.join(', ')}, which nothing requires)`);
  }
}

/** @param {string} file @returns {Promise<string>} */
async function digestOf(file) {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}
