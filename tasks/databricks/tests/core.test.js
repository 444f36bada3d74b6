// The core's environment: which wheel set, where it is cached, and how Python is started.
'use strict';
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { describe, it } = require('node:test');
const { COMPLETE_MARKER, cacheFolderOf, coreCommand, prepareCore, wheelSet } = require('../core');
const { temporaryDirectory } = require('./helpers');

const tl = { loc: (key, ...args) => [key, ...args].join(' ') };
const SETS = {
  sets: { '3.10': ['a.whl'], 3.11: ['a.whl'], 3.12: ['a.whl'], 3.13: ['a.whl'] },
  sha256: {},
  files: { '3.10': {}, 3.11: {}, 3.12: {}, 3.13: {} },
};
/** The one file the fake installer writes, and the manifest's hash of it. */
const MODULE = { path: 'pkg/mod.py', text: 'VALUE = 1\n' };
const MODULE_SHA256 = require('crypto').createHash('sha256').update(MODULE.text).digest('hex');
const FILES = { ...SETS, files: { 3.12: { [MODULE.path]: MODULE_SHA256 } } };
const python = (version) => ({
  command: '/opt/python',
  args: [],
  version,
  implementation: 'CPython',
  described: 'python3',
});

function wheelsDir(manifest = SETS) {
  const dir = temporaryDirectory();
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

/** An installer that writes MODULE and the marker, counting its calls. */
function countingInstaller() {
  const calls = [];
  const install = (py, wheels, set, target) => {
    calls.push(target);
    fs.mkdirSync(path.join(target, 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(target, MODULE.path), MODULE.text);
    fs.writeFileSync(path.join(target, COMPLETE_MARKER), '');
  };
  return { install, calls };
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
    const options = {
      cacheFolder: path.join(tools, 'dbcicd'),
      taskVersion: '1.2.3',
      tl,
      install,
      wheelsDir: wheelsDir(),
      log: () => {},
    };
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
      cacheFolder: tools,
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

  it('checks the folder before each use and prepares it again when a file differs, is added or is missing', () => {
    const logged = [];
    const { install, calls } = countingInstaller();
    const options = {
      cacheFolder: temporaryDirectory(),
      taskVersion: '1.2.3',
      tl,
      install,
      wheelsDir: wheelsDir(FILES),
      log: (line) => logged.push(line),
    };
    const target = prepareCore(python([3, 12, 1]), options);
    assert.equal(prepareCore(python([3, 12, 1]), options), target);
    assert.equal(calls.length, 1, 'an unchanged folder is reused');
    const changes = [
      [() => fs.appendFileSync(path.join(target, MODULE.path), 'import os\n'), 'pkg/mod.py differs'],
      [() => fs.mkdirSync(path.join(target, 'pkg', '__pycache__')), null],
      [
        () => fs.writeFileSync(path.join(target, 'pkg', '__pycache__', 'mod.pyc'), ''),
        'pkg/__pycache__/mod.pyc is not',
      ],
      [() => fs.rmSync(path.join(target, MODULE.path)), 'pkg/mod.py is missing'],
      [() => fs.symlinkSync('/etc/passwd', path.join(target, 'pkg', 'link.py')), 'pkg/link.py is not a regular file'],
    ];
    for (const [change, reason] of changes) {
      const before = calls.length;
      change();
      assert.equal(prepareCore(python([3, 12, 1]), options), target);
      if (reason) {
        assert.equal(calls.length, before + 1, reason);
        assert.match(logged.at(-2), new RegExp(`^CoreChanged ${target.replace(/\\/g, '\\\\')} ${reason}`));
        assert.equal(fs.readFileSync(path.join(target, MODULE.path), 'utf8'), MODULE.text);
      } else {
        assert.equal(calls.length, before, 'an empty folder changes nothing that runs');
      }
    }
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ['py3.12'], 'the discarded folder is gone');
  });

  it(
    'keeps its folder private to the user and refuses a link in its place',
    { skip: process.platform === 'win32' },
    () => {
      const base = temporaryDirectory();
      const options = (cacheFolder) => ({
        cacheFolder,
        taskVersion: '1.2.3',
        tl,
        install: countingInstaller().install,
        wheelsDir: wheelsDir(),
        log: () => {},
      });
      const fresh = path.join(base, 'fresh', 'dbcicd');
      prepareCore(python([3, 12, 0]), options(fresh));
      assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
      const open = path.join(base, 'open');
      fs.mkdirSync(open, { mode: 0o777 });
      fs.chmodSync(open, 0o777);
      prepareCore(python([3, 12, 0]), options(open));
      assert.equal(fs.statSync(open).mode & 0o777, 0o700);
      const link = path.join(base, 'link');
      fs.symlinkSync(open, link);
      assert.throws(() => prepareCore(python([3, 12, 0]), options(link)), /^Error: CoreFolderUnsafe .*link is a link/);
    },
  );

  it('names the folder when installing fails', () => {
    const options = {
      cacheFolder: temporaryDirectory(),
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

describe('cacheFolderOf', () => {
  it("is <Agent.ToolsDirectory>/dbcicd, else the user's own cache folder, never a shared temporary one", () => {
    assert.equal(cacheFolderOf('/agent/_tool', {}, 'linux'), path.join('/agent/_tool', 'dbcicd'));
    assert.equal(cacheFolderOf('', { XDG_CACHE_HOME: '/home/u/.xdg' }, 'linux'), path.join('/home/u/.xdg', 'dbcicd'));
    assert.equal(cacheFolderOf(undefined, {}, 'darwin'), path.join(require('os').homedir(), '.cache', 'dbcicd'));
    assert.equal(
      cacheFolderOf('', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32'),
      path.join('C:\\Users\\u\\AppData\\Local', 'dbcicd'),
    );
  });
});

describe('coreCommand', () => {
  it('runs `python -m dbcicd task` isolated, unbuffered and in UTF-8 mode with the folder first on sys.path', () => {
    const { command, args } = coreCommand({ ...python([3, 12, 0]), args: ['-3'] }, '/tools/site', '/job/pycache');
    assert.equal(command, '/opt/python');
    assert.deepEqual(args.slice(0, 8), ['-3', '-I', '-u', '-X', 'utf8', '-X', 'pycache_prefix=/job/pycache', '-c']);
    assert.match(args[8], /runpy\.run_module\("dbcicd"/);
    assert.equal(args[9], '/tools/site');
  });

  it('writes no bytecode without a folder for it', () => {
    const { args } = coreCommand(python([3, 12, 0]), '/tools/site');
    assert.deepEqual(args.slice(0, 5), ['-I', '-u', '-X', 'utf8', '-B']);
  });
});
