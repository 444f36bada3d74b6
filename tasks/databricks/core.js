// @ts-check
'use strict';
/**
 * The Python core's environment: the `dbcicd` package and its dependencies ship inside the task as pure-Python
 * wheels (`wheels/`, listed in `wheels/manifest.json` per Python version with their sha256), so an agent without
 * internet access or a package index can run the task. They are unpacked once per task version, wheel set and
 * Python version under Agent.ToolsDirectory, which agents keep between jobs, and reused by every later step:
 * `<tools>/dbcicd/<task version>/<wheel set hash>/py<X.Y>/`. Without a tools directory (outside an agent) the
 * folder is the user's own cache, `~/.cache/dbcicd` (`$XDG_CACHE_HOME/dbcicd`; `%LOCALAPPDATA%\dbcicd` on Windows).
 *
 * Every step checks the prepared folder against the file hashes the manifest records for its set (`files`, written
 * when the task was packaged) before it runs anything from it, and prepares it again when a file differs, is missing
 * or was added: the folder outlives the job, and whatever a later job changed in it would otherwise run with the
 * next job's credentials. The `dbcicd` folder is private to the agent's user (0700). Python keeps its bytecode out
 * of it (`-X pycache_prefix`, in the job's temporary folder), since a .pyc would run in place of its checked source.
 */
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const WHEELS_DIR = path.join(__dirname, 'wheels');
const INSTALLER = path.join(__dirname, 'install_wheels.py');
/** Written by install_wheels.py into a finished folder; a folder without it is not used. */
const COMPLETE_MARKER = '.dbcicd-complete';
const INSTALL_TIMEOUT_MS = 5 * 60 * 1000;
/** `python -m dbcicd task`, with the core's folder first on sys.path and the agent's PYTHON* settings ignored (-I). */
const BOOTSTRAP =
  'import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv = ["dbcicd", "task"]; ' +
  'runpy.run_module("dbcicd", run_name="__main__", alter_sys=True)';

/**
 * @typedef {import('./python').Python} Python
 * @typedef {{sets: Record<string, string[]>, sha256: Record<string, string>,
 *   files: Record<string, Record<string, string>>}} WheelManifest
 * @typedef {{loc(key: string, ...args: unknown[]): string}} Localizer
 * @typedef {(python: Python, wheelsDir: string, set: string, target: string) => void} Installer
 */

/** @returns {{manifest: WheelManifest, hash: string}} the wheel manifest and a short hash of its content */
function readWheelManifest(dir = WHEELS_DIR) {
  const text = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
  const hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { manifest: JSON.parse(text), hash };
}

/** @param {string} key e.g. "3.12" @returns {number[]} */
const versionOf = (key) => key.split('.').map(Number);

/**
 * The wheel set for a Python version: its own, or for a newer Python than any set, the newest set (the wheels are
 * pure Python; sets differ only in version-conditional dependencies).
 * @param {WheelManifest} manifest @param {number[]} version @param {Localizer} tl @returns {string}
 */
function wheelSet(manifest, version, tl) {
  const own = `${version[0]}.${version[1]}`;
  const keys = Object.keys(manifest.sets).sort((a, b) => compare(versionOf(a), versionOf(b)));
  if (keys.includes(own)) {
    return own;
  }
  const newest = keys[keys.length - 1];
  if (newest && versionOf(newest)[0] === version[0] && compare(versionOf(newest), version) < 0) {
    return newest;
  }
  throw new Error(tl.loc('CoreNoWheels', own, keys.join(', ')));
}

/** @param {number[]} a @param {number[]} b */
function compare(a, b) {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * The folder holding the core for this Python, checked, and unpacked now if no earlier step did it or if it is not
 * what the task ships.
 * @param {Python} python
 * @param {{cacheFolder: string, taskVersion: string, tl: Localizer, install?: Installer, wheelsDir?: string,
 *   log?: (line: string) => void}} options `cacheFolder` from cacheFolderOf
 * @returns {string} the folder to put first on sys.path
 */
function prepareCore(
  python,
  { cacheFolder, taskVersion, tl, install = runInstaller, wheelsDir = WHEELS_DIR, log = console.log },
) {
  const { manifest, hash } = readWheelManifest(wheelsDir);
  const set = wheelSet(manifest, python.version, tl);
  ensurePrivateFolder(cacheFolder, tl);
  const target = path.join(cacheFolder, taskVersion, hash, `py${python.version[0]}.${python.version[1]}`);
  if (fs.existsSync(path.join(target, COMPLETE_MARKER))) {
    const difference = differenceFrom(target, manifest.files[set]);
    if (!difference) {
      log(tl.loc('CoreCached', target));
      return target;
    }
    log(tl.loc('CoreChanged', target, difference));
    discard(target);
  }
  log(tl.loc('CorePreparing', python.version.join('.'), target));
  try {
    install(python, wheelsDir, set, target);
  } catch (err) {
    throw new Error(tl.loc('CorePrepareFailed', target, /** @type {Error} */ (err).message));
  }
  return target;
}

/**
 * Where the prepared cores live: `<Agent.ToolsDirectory>/dbcicd`, else the user's own cache folder (never a shared
 * temporary folder, where another user could plant or change files).
 * @param {string | undefined} toolsDirectory
 * @returns {string}
 */
function cacheFolderOf(toolsDirectory, env = process.env, platform = process.platform) {
  if (toolsDirectory) {
    return path.join(toolsDirectory, 'dbcicd');
  }
  const userCache =
    platform === 'win32'
      ? env.LOCALAPPDATA || path.join(os.homedir(), 'AppData', 'Local')
      : env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(userCache, 'dbcicd');
}

/**
 * Creates the folder private to this user (0700), or checks that an existing one is a real folder of this user and
 * makes it private; refuses a link or another user's folder (on Windows, the folder's ACL is left as it inherits).
 * @param {string} folder @param {Localizer} tl
 */
function ensurePrivateFolder(folder, tl) {
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(folder);
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new Error(tl.loc('CoreFolderUnsafe', folder, 'is a link or not a folder'));
  }
  if (process.platform === 'win32' || !process.getuid) {
    return;
  }
  if (stat.uid !== process.getuid()) {
    throw new Error(tl.loc('CoreFolderUnsafe', folder, `belongs to another user (uid ${stat.uid})`));
  }
  if ((stat.mode & 0o077) !== 0) {
    fs.chmodSync(folder, 0o700);
  }
}

/**
 * Every regular file under `folder`, by its path relative to it with `/` separators, except the completion marker;
 * anything else that is not a folder (a link, a device) is listed under `others`.
 * @param {string} folder @returns {{files: Map<string, string>, others: string[]}} files: relative path -> full path
 */
function listTree(folder) {
  const files = new Map();
  const others = [];
  const walk = (/** @type {string} */ dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(folder, full).split(path.sep).join('/');
      if (entry.isDirectory()) {
        walk(full);
      } else if (!entry.isFile()) {
        others.push(relative);
      } else if (relative !== COMPLETE_MARKER) {
        files.set(relative, full);
      }
    }
  };
  walk(folder);
  return { files, others };
}

/** @param {string} file @returns {string} */
function sha256Of(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The sha256 of every file of a prepared core (the manifest's `files` entry for its set; scripts/wheels.mjs).
 * @param {string} folder @returns {Record<string, string>}
 */
function treeDigests(folder) {
  const { files, others } = listTree(folder);
  if (others.length) {
    throw new Error(`${folder} holds ${others.join(', ')}, which are not regular files`);
  }
  return Object.fromEntries(
    [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([rel, full]) => [rel, sha256Of(full)]),
  );
}

/**
 * How a prepared folder differs from the files the task recorded for it, or '' when it holds exactly them.
 * @param {string} folder @param {Record<string, string> | undefined} expected relative path -> sha256
 * @returns {string} e.g. "dbcicd/entry/task.py differs"
 */
function differenceFrom(folder, expected) {
  if (!expected) {
    return 'the task records no file hashes for it';
  }
  const { files, others } = listTree(folder);
  if (others.length) {
    return `${others[0]} is not a regular file`;
  }
  for (const [relative, full] of files) {
    if (!Object.hasOwn(expected, relative)) {
      return `${relative} is not part of it`;
    }
    if (sha256Of(full) !== expected[relative]) {
      return `${relative} differs`;
    }
  }
  const missing = Object.keys(expected).find((relative) => !files.has(relative));
  return missing ? `${missing} is missing` : '';
}

/**
 * Moves a folder aside (atomically, so no step starts from a half-removed one) and removes it.
 * @param {string} folder
 */
function discard(folder) {
  const aside = `${folder}.discarded-${process.pid}-${Date.now()}`;
  fs.renameSync(folder, aside);
  fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Unpacks the wheels with install_wheels.py, using only the standard library of the chosen Python (no pip, no
 * venv: some system Pythons lack both).
 * @type {Installer}
 */
function runInstaller(python, wheelsDir, set, target) {
  const result = spawnSync(python.command, [...python.args, '-I', INSTALLER, wheelsDir, set, target], {
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
    windowsHide: true,
  });
  if (result.error) {
    throw result.error;
  }
  if (result.status !== 0) {
    throw new Error((result.stderr || '').trim() || `install_wheels.py exited with code ${result.status}`);
  }
}

/**
 * The command line of `python -m dbcicd task` with the prepared folder. Bytecode goes to `pycache` (in
 * Agent.TempDirectory, "a temporary folder that is cleaned after each pipeline job": Microsoft Learn, predefined
 * variables), or nowhere (-B) without one: never beside the checked sources, where a planted .pyc would run instead
 * of them (Python's documentation, sys.pycache_prefix and -B). The first step of each job compiles what it imports.
 * @param {Python} python @param {string} site @param {string} [pycache]
 * @returns {{command: string, args: string[]}}
 */
function coreCommand(python, site, pycache) {
  const bytecode = pycache ? ['-X', `pycache_prefix=${pycache}`] : ['-B'];
  return {
    command: python.command,
    args: [...python.args, '-I', '-u', '-X', 'utf8', ...bytecode, '-c', BOOTSTRAP, site],
  };
}

module.exports = {
  prepareCore,
  cacheFolderOf,
  coreCommand,
  wheelSet,
  readWheelManifest,
  treeDigests,
  COMPLETE_MARKER,
};
