// @ts-check
'use strict';
/**
 * Finding the Python that runs the core: the `pythonPath` input if given, else the PATH (where UsePythonVersion@0
 * puts the one it selects). The first candidate that is Python 3.10 or later wins; the error lists every candidate
 * tried and how to fix it.
 *
 * On Windows `python` comes first, as PythonScript@0 runs `task.which('python')` on every platform
 * (azure-pipelines-tasks, Tasks/PythonScriptV0/pythonscript.ts): UsePythonVersion@0 prepends the installation folder
 * and its Scripts folder (Tasks/UsePythonVersionV0/usepythonversion.ts, binDir and prependPathSafe), and a Windows
 * installation holds `python.exe` but no `python3.exe`, so a `python3` found first would be another Python further
 * down the PATH (or the Microsoft Store's stub in WindowsApps). Then the `py -3` launcher, then `python3`. Elsewhere
 * `python3` comes first: UsePythonVersion's bin folder holds both, and a bare `python` may be Python 2.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const MINIMUM = [3, 10];
const PROBE_TIMEOUT_MS = 20000;
/** Prints what the task needs to know about an interpreter, as one JSON line. */
const PROBE_CODE =
  'import json, platform, sys; ' +
  'print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable, ' +
  '"implementation": platform.python_implementation()}))';

/**
 * @typedef {{command: string, args: string[]}} Candidate
 * @typedef {{version: number[], executable: string, implementation: string}} ProbeResult
 * @typedef {{command: string, args: string[], version: number[], implementation: string, described: string}} Python
 */

/**
 * Where to look, in order.
 * @param {string} pythonPath the input ('' when not set): an interpreter, or a folder holding one
 * @param {NodeJS.Platform} platform
 * @returns {Candidate[]}
 */
function candidates(pythonPath, platform = process.platform) {
  const windows = platform === 'win32';
  if (pythonPath) {
    if (isDirectory(pythonPath)) {
      const names = windows ? ['python.exe'] : ['bin/python3', 'bin/python', 'python3', 'python'];
      return names.map((name) => ({ command: path.join(pythonPath, name), args: [] }));
    }
    return [{ command: pythonPath, args: [] }];
  }
  const python3 = { command: 'python3', args: [] };
  const python = { command: 'python', args: [] };
  return windows ? [python, { command: 'py', args: ['-3'] }, python3] : [python3, python];
}

/** @param {string} where */
function isDirectory(where) {
  try {
    return fs.statSync(where).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Runs a candidate with `-c PROBE_CODE`.
 * @param {Candidate} candidate
 * @returns {ProbeResult | {problem: string}}
 */
function probe(candidate) {
  const result = spawnSync(candidate.command, [...candidate.args, '-I', '-c', PROBE_CODE], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    windowsHide: true,
  });
  if (result.error) {
    const code = /** @type {NodeJS.ErrnoException} */ (result.error).code;
    return { problem: code === 'ENOENT' ? 'not found' : result.error.message };
  }
  if (result.status !== 0) {
    const detail = (result.stderr || '').trim().split(/\r?\n/).pop();
    return { problem: `exit code ${result.status}${detail ? `: ${detail}` : ''}` };
  }
  try {
    return JSON.parse(result.stdout.trim().split(/\r?\n/).pop() || '');
  } catch {
    return { problem: 'not a Python interpreter' };
  }
}

/** @param {number[]} version */
function isSupported(version) {
  return version[0] > MINIMUM[0] || (version[0] === MINIMUM[0] && version[1] >= MINIMUM[1]);
}

/**
 * The first candidate that is Python 3.10 or later.
 * @param {string} pythonPath the `pythonPath` input
 * @param {{loc: (key: string, ...args: unknown[]) => string}} tl for the error message
 * @param {(candidate: Candidate) => ProbeResult | {problem: string}} run the probe (replaced in tests)
 * @returns {Python}
 */
function findPython(pythonPath, tl, run = probe, platform = process.platform) {
  const tried = [];
  for (const candidate of candidates(pythonPath, platform)) {
    const described = [candidate.command, ...candidate.args].join(' ');
    const found = run(candidate);
    if ('problem' in found) {
      tried.push(`${described}: ${found.problem}`);
    } else if (!isSupported(found.version)) {
      tried.push(`${described}: Python ${found.version.join('.')} at ${found.executable}`);
    } else {
      // Run the interpreter itself from now on: the same one, whatever PATH or the launcher would pick later.
      const launch = found.executable ? { command: found.executable, args: [] } : candidate;
      return { ...launch, version: found.version, implementation: found.implementation, described };
    }
  }
  throw new Error(tl.loc('PythonNotFound', tried.join('; ')));
}

module.exports = { findPython, candidates, probe, isSupported };
