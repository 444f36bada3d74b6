// Files generated from others are committed up to date: the task reference from task.json, the icon from its
// drawing code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ICONS, iconPng } from '../icon.mjs';
import { REFERENCE_PATH, taskReferenceMarkdown } from '../task-reference.mjs';
import { ROOT, readJson } from './files.mjs';

describe('generated files', () => {
  it('docs/task-reference.md matches task.json (run `node scripts/task-reference.mjs`)', () => {
    assert.equal(readFileSync(REFERENCE_PATH, 'utf8'), taskReferenceMarkdown(readJson('task.json')));
  });

  it('documents every input and output variable of task.json', () => {
    const reference = readFileSync(REFERENCE_PATH, 'utf8');
    const task = readJson('task.json');
    for (const name of [...task.inputs, ...task.outputVariables].map((item) => item.name)) {
      assert.ok(reference.includes(`\`${name}\``), `${name} is not documented`);
    }
  });

  for (const [path, size] of Object.entries(ICONS)) {
    it(`${path} is what scripts/icon.mjs draws, ${size}x${size}`, () => {
      const png = readFileSync(join(ROOT, path));
      assert.ok(png.equals(iconPng(size)), 'run `node scripts/icon.mjs`');
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [size, size]);
    });
  }
});
