// Which Python runs the core, and the error when none fits.
'use strict';
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { describe, it } = require('node:test');
const { candidates, findPython, isSupported } = require('../python');
const { temporaryDirectory } = require('./helpers');

const tl = { loc: (key, ...args) => [key, ...args].join(' ') };
const interpreter = (version, executable) => ({ version, executable, implementation: 'CPython' });

describe('candidates', () => {
  it('tries python3 then python on the PATH, and on Windows python first, as PythonScript@0 does', () => {
    assert.deepEqual(
      candidates('', 'linux').map((c) => c.command),
      ['python3', 'python'],
    );
    // UsePythonVersion@0 puts python.exe, not python3.exe, first on a Windows PATH.
    assert.deepEqual(candidates('', 'win32'), [
      { command: 'python', args: [] },
      { command: 'py', args: ['-3'] },
      { command: 'python3', args: [] },
    ]);
  });

  it('uses only the pythonPath input when given, looking inside a folder such as $(pythonLocation)', () => {
    assert.deepEqual(candidates('/opt/py/bin/python3.12', 'linux'), [{ command: '/opt/py/bin/python3.12', args: [] }]);
    const folder = temporaryDirectory();
    fs.mkdirSync(path.join(folder, 'bin'));
    assert.deepEqual(
      candidates(folder, 'linux').map((c) => path.relative(folder, c.command)),
      [path.join('bin', 'python3'), path.join('bin', 'python'), 'python3', 'python'],
    );
    assert.deepEqual(
      candidates(folder, 'win32').map((c) => path.relative(folder, c.command)),
      ['python.exe'],
    );
  });
});

describe('findPython', () => {
  it('takes the first candidate that is 3.10 or later and runs its executable from then on', () => {
    const answers = {
      python3: interpreter([3, 9, 18], '/usr/bin/python3'),
      python: interpreter([3, 12, 1], '/opt/py/python'),
    };
    const found = findPython('', tl, (c) => answers[c.command], 'linux');
    assert.deepEqual(found, {
      command: '/opt/py/python',
      args: [],
      version: [3, 12, 1],
      implementation: 'CPython',
      described: 'python',
    });
  });

  it('names every candidate and the fix when none fits', () => {
    const answers = { python3: { problem: 'not found' }, python: interpreter([3, 8, 10], '/usr/bin/python') };
    assert.throws(() => findPython('', tl, (c) => answers[c.command], 'linux'), {
      message: 'PythonNotFound python3: not found; python: Python 3.8.10 at /usr/bin/python',
    });
  });

  it('knows the minimum version', () => {
    assert.ok(isSupported([3, 10, 0]) && isSupported([3, 13, 0]) && isSupported([4, 0, 0]));
    assert.ok(!isSupported([3, 9, 18]) && !isSupported([2, 7, 18]));
  });
});
