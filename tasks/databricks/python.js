// @ts-check
'use strict';
/**
 * Finding the Python that runs the core: the `pythonPath` input if given, else `python3` or `python` on the PATH
 * (where UsePythonVersion@0 puts the one it selects), else the `py -3` launcher on Windows. The first candidate
 * that is Python 3.10 or later wins; the error lists every candidate tried and how to fix it.
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
  const onPath = [
    { command: 'python3', args: [] },
    { command: 'python', args: [] },
  ];
  return windows ? [...onPath, { command: 'py', args: ['-3'] }] : onPath;
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
