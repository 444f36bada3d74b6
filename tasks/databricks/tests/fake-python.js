#!/usr/bin/env node
// A stand-in for Python in the entry point's tests, answering the three ways the task runs Python:
// - the probe (`-I -c <code printing the version>`): prints the version in FAKE_PYTHON_VERSION (e.g. "3.12.1");
// - install_wheels.py WHEELS SET TARGET: creates TARGET with its completion marker;
// - the core (`-I -u -X utf8 -c <bootstrap> SITE`): records the request document from stdin, prints a logging
//   command, then exits with FAKE_PYTHON_EXIT, or with FAKE_PYTHON_WAIT=signal says READY and exits 130 on
//   SIGINT/SIGTERM (recording the signal); FAKE_PYTHON_WAIT=signal-twice misses the first signal (as an interpreter
//   still starting can) and exits on the second.
// Every call is appended as one JSON line to FAKE_PYTHON_LOG.
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const record = (entry) => fs.appendFileSync(process.env.FAKE_PYTHON_LOG, `${JSON.stringify(entry)}\n`);
const code = args[args.indexOf('-c') + 1] || '';

if (code.includes('python_implementation')) {
  record({ call: 'probe', args });
  const version = process.env.FAKE_PYTHON_VERSION || '3.12.1';
  console.log(
    JSON.stringify({ version: version.split('.').map(Number), executable: __filename, implementation: 'CPython' }),
  );
} else if (args.some((arg) => arg.endsWith('install_wheels.py'))) {
  const [wheels, set, target] = args.slice(-3);
  record({ call: 'install', wheels, set, target });
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, '.dbcicd-complete'), set);
} else if (code.includes('runpy')) {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    record({ call: 'core', args, document: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    console.log('##vso[task.setvariable variable=runId;isoutput=true]42');
    if (process.env.FAKE_PYTHON_WAIT?.startsWith('signal')) {
      let missed = process.env.FAKE_PYTHON_WAIT === 'signal-twice' ? 1 : 0;
      const stop = (signal) => {
        record({ call: 'signal', signal });
        if (missed-- <= 0) {
          process.exit(130);
        }
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      console.log('READY');
      setInterval(() => undefined, 1000);
    } else {
      process.exit(Number(process.env.FAKE_PYTHON_EXIT || 0));
    }
  });
} else {
  console.error(`fake python: unexpected arguments ${JSON.stringify(args)}`);
  process.exit(3);
}
