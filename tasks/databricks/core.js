// @ts-check
'use strict';
/**
 * The Python core's environment: the `dbcicd` package and its dependencies ship inside the task as pure-Python
 * wheels (`wheels/`, listed in `wheels/manifest.json` per Python version with their sha256), so an agent without
 * internet access or a package index can run the task. They are unpacked once per task version, wheel set and
 * Python version under Agent.ToolsDirectory, which agents keep between jobs, and reused by every later step:
 * `<tools>/dbcicd/<task version>/<wheel set hash>/py<X.Y>/`.
 */
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
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
 * @typedef {{sets: Record<string, string[]>, sha256: Record<string, string>}} WheelManifest
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
 * The folder holding the core for this Python, unpacked now if no earlier step did it.
 * @param {Python} python
 * @param {{toolsDirectory: string, taskVersion: string, tl: Localizer, install?: Installer, wheelsDir?: string,
 *   log?: (line: string) => void}} options
 * @returns {string} the folder to put first on sys.path
 */
function prepareCore(
  python,
  { toolsDirectory, taskVersion, tl, install = runInstaller, wheelsDir = WHEELS_DIR, log = console.log },
) {
  const { manifest, hash } = readWheelManifest(wheelsDir);
  const set = wheelSet(manifest, python.version, tl);
  const target = path.join(toolsDirectory, 'dbcicd', taskVersion, hash, `py${python.version[0]}.${python.version[1]}`);
  if (fs.existsSync(path.join(target, COMPLETE_MARKER))) {
    log(tl.loc('CoreCached', target));
    return target;
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
 * The command line of `python -m dbcicd task` with the prepared folder.
 * @param {Python} python @param {string} site @returns {{command: string, args: string[]}}
 */
function coreCommand(python, site) {
  return { command: python.command, args: [...python.args, '-I', '-u', '-X', 'utf8', '-c', BOOTSTRAP, site] };
}

module.exports = { prepareCore, coreCommand, wheelSet, readWheelManifest, COMPLETE_MARKER };
