// The Python core as wheels the task carries: the dbcicd wheel built from this repository, plus every dependency
// downloaded as a pure-Python (`*-none-any`) wheel for each supported Python version. Pure wheels serve Linux
// (x64, arm64), Windows and macOS agents alike, so one set per Python version covers every agent; a dependency
// without a pure wheel stops the build instead of shipping a task that fails on some agents.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './proc.mjs';

/** The CPython versions the task supports (pyproject's requires-python is >=3.10). */
export const PYTHON_VERSIONS = ['3.10', '3.11', '3.12', '3.13'];
const PURE = /-none-any\.whl$/;
/** Optional parts of the core the task uses: `azure-devops` posts pull request statuses and comments. */
const CORE_EXTRAS = ['azure-devops'];

/**
 * Builds the wheels into `dest` and writes `dest/manifest.json`:
 * `{"sets": {"3.10": [wheel, ...], ...}, "sha256": {wheel: hex digest}}` (read by the task's core.js and
 * install_wheels.py).
 * @param {{root: string, dest: string, python: string}} options `python` runs pip (any Python >= 3.10 with pip)
 * @returns {Promise<{sets: Record<string, string[]>, sha256: Record<string, string>}>}
 */
export async function buildWheels({ root, dest, python }) {
  const work = await mkdtemp(join(tmpdir(), 'dbcicd-wheels-'));
  try {
    const coreDir = join(work, 'core');
    await run(python, ['-m', 'pip', 'wheel', '--quiet', '--no-deps', '--wheel-dir', coreDir, root]);
    const [core] = (await readdir(coreDir)).filter((name) => name.endsWith('.whl'));
    const downloads = PYTHON_VERSIONS.map(async (version) => {
      const into = join(work, version);
      await run(python, [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--only-binary=:all:',
        '--platform',
        'any',
        '--implementation',
        'py',
        '--abi',
        'none',
        '--python-version',
        version,
        '--dest',
        into,
        `${join(coreDir, core)}[${CORE_EXTRAS.join(',')}]`,
      ]);
      return /** @type {[string, string[]]} */ ([
        version,
        (await readdir(into)).filter((n) => n.endsWith('.whl')).sort(),
      ]);
    });
    const sets = Object.fromEntries(await Promise.all(downloads));
    await mkdir(dest, { recursive: true });
    /** @type {Record<string, string>} */
    const sha256 = {};
    for (const [version, names] of Object.entries(sets)) {
      for (const name of names) {
        if (!PURE.test(name)) {
          throw new Error(
            `${name} (for Python ${version}) is not a pure-Python wheel: the task would not run on every agent`,
          );
        }
        const digest = createHash('sha256')
          .update(await readFile(join(work, version, name)))
          .digest('hex');
        if (sha256[name] && sha256[name] !== digest) {
          throw new Error(`${name} was downloaded twice with different content`);
        }
        if (!sha256[name]) {
          await copyFile(join(work, version, name), join(dest, name));
          sha256[name] = digest;
        }
      }
    }
    await writeFile(join(dest, 'manifest.json'), `${JSON.stringify({ sets, sha256 }, null, 2)}\n`);
    return { sets, sha256 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
