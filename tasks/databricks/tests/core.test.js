// The core's environment: which wheel set, where it is cached, and how Python is started.
'use strict';
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { describe, it } = require('node:test');
const { COMPLETE_MARKER, coreCommand, prepareCore, wheelSet } = require('../core');
const { temporaryDirectory } = require('./helpers');

const tl = { loc: (key, ...args) => [key, ...args].join(' ') };
const SETS = { sets: { '3.10': ['a.whl'], 3.11: ['a.whl'], 3.12: ['a.whl'], 3.13: ['a.whl'] }, sha256: {} };
const python = (version) => ({
  command: '/opt/python',
  args: [],
  version,
  implementation: 'CPython',
  described: 'python3',
});

function wheelsDir() {
  const dir = temporaryDirectory();
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(SETS));
  return dir;
}

describe('wheelSet', () => {
  it("uses the Python version's own set", () => {
    assert.equal(wheelSet(SETS, [3, 12, 4], tl), '3.12');
  });

  it('uses the newest set for a newer Python 3', () => {
    assert.equal(wheelSet(SETS, [3, 14, 0], tl), '3.13');
  });

  it('refuses versions it has no wheels for', () => {
    assert.throws(() => wheelSet(SETS, [3, 9, 0], tl), { message: 'CoreNoWheels 3.9 3.10, 3.11, 3.12, 3.13' });
    assert.throws(() => wheelSet(SETS, [4, 0, 0], tl), /CoreNoWheels 4\.0/);
  });
});

describe('prepareCore', () => {
  it('installs into <tools>/dbcicd/<task version>/<wheel set hash>/py<X.Y> once, then reuses the folder', () => {
    const tools = temporaryDirectory();
    const installs = [];
    const install = (py, wheels, set, target) => {
      installs.push([set, target]);
      fs.mkdirSync(target, { recursive: true });
      fs.writeFileSync(path.join(target, COMPLETE_MARKER), '');
    };
    const options = { toolsDirectory: tools, taskVersion: '1.2.3', tl, install, wheelsDir: wheelsDir(), log: () => {} };
    const first = prepareCore(python([3, 11, 7]), options);
    const second = prepareCore(python([3, 11, 7]), options);
    assert.equal(first, second);
    assert.match(path.relative(tools, first), /^dbcicd[\\/]1\.2\.3[\\/][0-9a-f]{12}[\\/]py3\.11$/);
    assert.deepEqual(installs, [['3.11', first]]);
  });

  it('does not use a folder an interrupted install left without its marker', () => {
    const tools = temporaryDirectory();
    let installs = 0;
    const options = {
      toolsDirectory: tools,
      taskVersion: '1.2.3',
      tl,
      install: () => installs++,
      wheelsDir: wheelsDir(),
      log: () => {},
    };
    const target = prepareCore(python([3, 12, 0]), options);
    fs.mkdirSync(target, { recursive: true });
    prepareCore(python([3, 12, 0]), options);
    assert.equal(installs, 2);
  });

  it('names the folder when installing fails', () => {
    const options = {
      toolsDirectory: temporaryDirectory(),
      taskVersion: '1.2.3',
      tl,
      install: () => {
        throw new Error('disk full');
      },
      wheelsDir: wheelsDir(),
      log: () => {},
    };
    assert.throws(() => prepareCore(python([3, 12, 0]), options), /^Error: CorePrepareFailed .*py3\.12 disk full$/);
  });
});

describe('coreCommand', () => {
  it('runs `python -m dbcicd task` isolated, unbuffered and in UTF-8 mode with the folder first on sys.path', () => {
    const { command, args } = coreCommand({ ...python([3, 12, 0]), args: ['-3'] }, '/tools/site');
    assert.equal(command, '/opt/python');
    assert.deepEqual(args.slice(0, 6), ['-3', '-I', '-u', '-X', 'utf8', '-c']);
    assert.match(args[6], /runpy\.run_module\("dbcicd"/);
    assert.equal(args[7], '/tools/site');
  });
});
