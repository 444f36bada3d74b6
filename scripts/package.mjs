// `npm run package`: stages the extension (scripts/stage.mjs), packages it with tfx into dist/*.vsix, and writes the
// task's YAML schema entry beside it. Fails when tfx warns (it only warns about an invalid task.json) or when the
// VSIX is larger than Azure DevOps Server 2019 accepts; prints the VSIX's size. `-- --publisher <id>` (or
// DBCICD_PUBLISHER) packages it under your own Marketplace publisher id (scripts/publisher.mjs).
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { ROOT, STAGE, stage } from './stage.mjs';
import { run } from './proc.mjs';
import { publisherArgs, publisherFrom } from './publisher.mjs';
import { schemaEntry, taskReference } from './yaml-schema.mjs';

const DIST = join(ROOT, 'dist');
const MAX_BYTES = 25 * 1024 * 1024; // Azure DevOps Server 2019 refuses larger extensions
const TFX = join(dirname(createRequire(import.meta.url).resolve('tfx-cli/package.json')), '_build', 'tfx-cli.js');
const ANSI = /\u001b\[[0-9;]*m/g;

const started = Date.now();
let publisher;
try {
  publisher = publisherFrom(process.argv.slice(2), process.env);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const { sets } = await stage();
await mkdir(DIST, { recursive: true });
const { stdout, stderr } = await run(process.execPath, [
  TFX,
  'extension',
  'create',
  '--root',
  STAGE,
  '--manifest-globs',
  'vss-extension.json',
  '--output-path',
  DIST,
  '--no-prompt',
  '--no-color',
  ...publisherArgs(publisher),
]);
const output = `${stdout}\n${stderr}`.replace(ANSI, '');
const warnings = output.split(/\r?\n/).filter((line) => /^\s*warn/i.test(line));
if (warnings.length) {
  console.error(`tfx warned:\n${warnings.join('\n')}`);
  process.exit(1);
}
const vsix = /VSIX: (.+\.vsix)/.exec(output)?.[1]?.trim();
if (!vsix) {
  console.error(`tfx did not say where it wrote the VSIX:\n${output}`);
  process.exit(1);
}
const task = JSON.parse(await readFile(join(ROOT, 'task.json'), 'utf8'));
const entryPath = join(DIST, `${taskReference(task)}.schema-entry.json`);
await writeFile(entryPath, `${JSON.stringify(schemaEntry(task), null, 2)}\n`);

const { size } = await stat(vsix);
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
console.log(`VSIX: ${relative(ROOT, vsix)} ${mib(size)} (${size} bytes; limit ${mib(MAX_BYTES)})`);
console.log(`Publisher: ${publisher || "dbcicd (the manifest's placeholder: pass --publisher <your id> to publish)"}`);
console.log(`Python wheel sets (pure Python, every agent OS and CPU): ${Object.keys(sets).join(', ')}`);
console.log(`YAML schema entry: ${relative(ROOT, entryPath)}`);
console.log(`Packaged in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (size > MAX_BYTES) {
  console.error(`The VSIX is larger than ${mib(MAX_BYTES)}: Azure DevOps Server 2019 would refuse it.`);
  process.exit(1);
}
