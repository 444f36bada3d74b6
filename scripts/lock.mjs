// `npm run lock`: rewrites requirements/wheels-<X.Y>.txt, the hashed locks of the Python packages the task ships,
// from pyproject.toml's dependencies (and the extras in CORE_EXTRAS), one per supported Python version. Only this
// command needs a package index; `npm run package` installs exactly what the locks name, with pip --require-hashes.
//
// The resolver is pip's own, asked for pure-Python wheels and for its installation report (pipResolve), which names
// each chosen file with its sha256. uv and pip-tools resolve for one concrete platform: there they pick wheels with
// compiled parts (google-auth's cryptography, then cffi), which the task cannot ship to every agent.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CORE_EXTRAS,
  LOCK_COMMAND,
  LOCK_DIR,
  PYTHON_VERSIONS,
  lockPath,
  normalizedName,
  pipResolve,
} from './pure-python.mjs';
import { allSettled } from './proc.mjs';
import { ROOT, defaultPython } from './stage.mjs';

/**
 * The packages pip resolves for `root[CORE_EXTRAS]` on a Python version, without the project itself.
 * @param {{root: string, python: string, version: string, work: string}} options
 * @returns {Promise<{name: string, version: string, sha256: string}[]>}
 */
async function resolve({ root, python, version, work }) {
  const install = await pipResolve({ python, version, work, requirement: `${root}[${CORE_EXTRAS.join(',')}]` });
  return install
    .filter((item) => !item.download_info.dir_info) // the project itself, built from its folder
    .map((item) => {
      const sha256 = item.download_info.archive_info?.hashes?.sha256;
      if (!sha256) {
        throw new Error(`pip reported no sha256 for ${item.metadata.name} ${item.metadata.version}`);
      }
      return { name: normalizedName(item.metadata.name), version: item.metadata.version, sha256 };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** @param {string} version @param {{name: string, version: string, sha256: string}[]} entries */
function lockText(version, entries) {
  const lines = entries.map((e) => `${e.name}==${e.version} \\\n    --hash=sha256:${e.sha256}`);
  return [
    `# The Python packages the Databricks@1 task ships for Python ${version}: pure-Python wheels, installed by`,
    `# \`npm run package\` with pip --require-hashes. Written by \`${LOCK_COMMAND}\` from pyproject.toml; do not edit.`,
    ...lines,
    '',
  ].join('\n');
}

/** Rewrites every lock. @param {{root?: string, python?: string}} [options] */
export async function writeLocks({ root = ROOT, python = defaultPython() } = {}) {
  const work = await mkdtemp(join(tmpdir(), 'dbcicd-lock-'));
  try {
    await mkdir(join(root, LOCK_DIR), { recursive: true });
    const resolved = await allSettled(
      PYTHON_VERSIONS.map(async (version) => [version, await resolve({ root, python, version, work })]),
    );
    for (const [version, entries] of resolved) {
      await writeFile(lockPath(root, version), lockText(version, entries));
      console.log(`${relative(root, lockPath(root, version))}: ${entries.length} packages`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeLocks();
}
