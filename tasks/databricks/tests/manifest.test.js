// Visibility rules as the classic editor applies them, and what the entry point does with hidden inputs.
'use strict';
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { loadManifest, parseRule, ruleHolds, taskVersion, visibleValues } = require('../manifest');

const valuesOf = (values) => (name) => values[name] ?? '';

describe('visibleRule', () => {
  it('parses clauses joined by || and by &&, with "" as the empty value', () => {
    assert.deepEqual(parseRule('command = run || command = test'), {
      joiner: '||',
      clauses: [
        { name: 'command', operator: '=', value: 'run' },
        { name: 'command', operator: '=', value: 'test' },
      ],
    });
    assert.deepEqual(parseRule('a != "" && b == x').clauses, [
      { name: 'a', operator: '!=', value: '' },
      { name: 'b', operator: '=', value: 'x' },
    ]);
  });

  it('refuses rules it cannot evaluate', () => {
    assert.throws(() => parseRule('a = x || b = y && c = z'), /mixes && and \|\|/);
    assert.throws(() => parseRule('path EndsWith .py'), /is not 'name = value'/);
  });

  it('compares values case-insensitively, as YAML pick lists are matched', () => {
    assert.ok(ruleHolds(parseRule('publishTestResults = true'), valuesOf({ publishTestResults: 'True' })));
    assert.ok(ruleHolds(parseRule('command != cleanup'), valuesOf({ command: 'run' })));
    assert.ok(!ruleHolds(parseRule('a = x && b = y'), valuesOf({ a: 'x', b: 'z' })));
  });
});

describe('visibleValues', () => {
  const manifest = {
    groups: [{ name: 'run', displayName: 'Run', visibleRule: 'command = run' }],
    inputs: [
      { name: 'command', type: 'pickList', label: 'Command', defaultValue: 'test' },
      { name: 'compute', type: 'pickList', label: 'Compute', groupName: 'run', defaultValue: 'serverless' },
      {
        name: 'clusterId',
        type: 'string',
        label: 'Cluster',
        groupName: 'run',
        visibleRule: 'compute = existingCluster',
      },
    ],
  };

  it('keeps what is shown', () => {
    const { values, ignored } = visibleValues(
      manifest,
      valuesOf({ command: 'run', compute: 'existingCluster', clusterId: 'c1' }),
    );
    assert.deepEqual(values, { command: 'run', compute: 'existingCluster', clusterId: 'c1' });
    assert.deepEqual(ignored, []);
  });

  it('empties inputs hidden by their own rule or their group, naming only those the user changed', () => {
    const { values, ignored } = visibleValues(
      manifest,
      valuesOf({ command: 'test', compute: 'serverless', clusterId: 'c1' }),
    );
    assert.deepEqual(values, { command: 'test', compute: '', clusterId: '' });
    assert.deepEqual(ignored, [{ name: 'clusterId', rule: 'command = run' }]);
  });
});

describe('task.json', () => {
  it('is found from the source tree and has a three-part version', () => {
    assert.match(taskVersion(loadManifest()), /^\d+\.\d+\.\d+$/);
  });
});
