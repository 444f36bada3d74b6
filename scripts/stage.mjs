// `npm run build`: assembles the extension as tfx packages it, in build/extension/ — the manifest, icon, overview
// and LICENSE, and the task folder: task.json, its icon.png, the Node entry point with production node_modules only
// (the agent runs no `npm install`), the wheel installer, the core's wheels (from the hashed locks in
// requirements/), the LICENSE again (agents download the task folder alone) and sbom.cdx.json, the CycloneDX list of
// every package the task ships (scripts/sbom.mjs). Tests are left out.
import { copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.mjs';
import { cycloneDx } from './sbom.mjs';
import { buildWheels } from './wheels.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const STAGE = join(ROOT, 'build', 'extension');
const TASK_SOURCE = join(ROOT, 'tasks', 'databricks');
/** What vss-extension.json names besides the task folder. */
const EXTENSION_FILES = ['vss-extension.json', 'images/icon.png', 'docs/marketplace-overview.md', 'LICENSE'];
/** The bill of materials' name in the task folder (CycloneDX's recommended `.cdx.json` suffix). */
export const SBOM_FILE = 'sbom.cdx.json';

/** The Python that runs pip: $PYTHON, else python3 (python on Windows). */
export function defaultPython() {
  return process.env.PYTHON || (process.platform === 'win32' ? 'python' : 'python3');
}

/**
 * @param {{python?: string}} [options]
 * @returns {Promise<{stage: string, task: string, sets: Record<string, string[]>}>}
 */
export async function stage({ python = defaultPython() } = {}) {
  await rm(STAGE, { recursive: true, force: true });
  const task = join(STAGE, 'tasks', 'databricks');
  await mkdir(task, { recursive: true });
  for (const file of EXTENSION_FILES) {
    await mkdir(dirname(join(STAGE, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(STAGE, file));
  }
  await copyFile(join(ROOT, 'task.json'), join(task, 'task.json'));
  await copyFile(join(ROOT, 'LICENSE'), join(task, 'LICENSE'));
  for (const entry of await readdir(TASK_SOURCE, { withFileTypes: true })) {
    if (entry.isFile()) {
      await cp(join(TASK_SOURCE, entry.name), join(task, entry.name));
    }
  }
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: task,
  });
  const { sets, packages } = await buildWheels({ root: ROOT, dest: join(task, 'wheels'), python });
  const readJson = async (/** @type {string} */ file) => JSON.parse(await readFile(file, 'utf8'));
  const sbom = cycloneDx({
    extension: await readJson(join(ROOT, 'vss-extension.json')),
    python: packages,
    npmLock: await readJson(join(task, 'package-lock.json')),
  });
  await writeFile(join(task, SBOM_FILE), `${JSON.stringify(sbom, null, 2)}\n`);
  return { stage: STAGE, task, sets };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { task, sets } = await stage();
  const versions = Object.entries(sets).map(([version, wheels]) => `${version} (${wheels.length} wheels)`);
  console.log(`Staged ${task}\nPython wheel sets: ${versions.join(', ')}`);
}
