// `npm run build`: assembles the extension as tfx packages it, in build/extension/ — the manifest, icon and
// overview, and the task folder: task.json, its icon.png, the Node entry point with production node_modules only
// (the agent runs no `npm install`), the wheel installer and the core's wheels. Tests are left out.
import { copyFile, cp, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.mjs';
import { buildWheels } from './wheels.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const STAGE = join(ROOT, 'build', 'extension');
const TASK_SOURCE = join(ROOT, 'tasks', 'databricks');
/** What vss-extension.json names besides the task folder. */
const EXTENSION_FILES = ['vss-extension.json', 'images/icon.png', 'docs/marketplace-overview.md'];

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
  for (const entry of await readdir(TASK_SOURCE, { withFileTypes: true })) {
    if (entry.isFile()) {
      await cp(join(TASK_SOURCE, entry.name), join(task, entry.name));
    }
  }
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: task,
  });
  const { sets } = await buildWheels({ root: ROOT, dest: join(task, 'wheels'), python });
  return { stage: STAGE, task, sets };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { task, sets } = await stage();
  const versions = Object.entries(sets).map(([version, wheels]) => `${version} (${wheels.length} wheels)`);
  console.log(`Staged ${task}\nPython wheel sets: ${versions.join(', ')}`);
}
