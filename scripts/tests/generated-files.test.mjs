// Files generated from others are committed up to date: the task reference from task.json, the icon from its
// drawing code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { iconPng } from '../icon.mjs';
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

  it('images/icon.png is what scripts/icon.mjs draws', () => {
    assert.ok(readFileSync(join(ROOT, 'images', 'icon.png')).equals(iconPng()));
  });
});
