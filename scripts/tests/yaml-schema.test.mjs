// The YAML schema entry of Databricks@1: every pipeline in the repository, and every YAML example in its Markdown,
// validates against Microsoft's pipeline schema plus the generated entry; mistakes a user could make do not.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import Ajv from 'ajv';
import YAML from 'yaml';
import { schemaEntry, withTask } from '../yaml-schema.mjs';
import { ROOT, readJson, sharedSchema } from './files.mjs';

const task = readJson('task.json');
const NOT_SOURCES = new Set([
  'node_modules',
  '.git',
  '.venv',
  '.tox',
  'build',
  'dist',
  '.github',
  '.hypothesis',
  '.pytest_cache',
  '.ruff_cache',
]);
const PIPELINE_KEYS = ['steps', 'jobs', 'stages', 'extends'];

/**
 * A copy of a schema in which every property that has `aliases` is also accepted under each alias, as the Azure
 * Pipelines language server and service accept them (JSON Schema itself knows no aliases).
 */
function withAliases(schema) {
  const copy = structuredClone(schema);
  const visit = (node) => {
    if (!node || typeof node !== 'object') return;
    if (node.properties && typeof node.properties === 'object') {
      for (const property of Object.values(node.properties)) {
        for (const alias of property?.aliases || []) {
          node.properties[alias] = property;
        }
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(copy);
  return copy;
}

const ajv = () => new Ajv({ strict: false, unicodeRegExp: false, allErrors: true });

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !NOT_SOURCES.has(entry.name)) {
      yield* files(join(dir, entry.name));
    } else if (entry.isFile()) {
      yield join(dir, entry.name);
    }
  }
}

/**
 * `doc` with its conditional insertions (`- ${{ if <condition> }}:` holding a list, or a mapping key `${{ if ... }}:`
 * holding a mapping) replaced by what they insert. Azure Pipelines expands template expressions before it checks a
 * pipeline ("Template expressions", Conditional insertion, learn.microsoft.com/azure/devops/pipelines/process/
 * template-expressions), and the published schema has no place for them; checking the inserted content as if the
 * condition held keeps it validated rather than skipped.
 */
function withInsertions(node) {
  const isInsertion = (key) => /^\$\{\{\s*(if|elseif|else)\b/.test(key);
  if (Array.isArray(node)) {
    return node.flatMap((item) => {
      const keys = item && typeof item === 'object' && !Array.isArray(item) ? Object.keys(item) : [];
      if (keys.length === 1 && isInsertion(keys[0])) {
        const inserted = withInsertions(item[keys[0]]);
        return Array.isArray(inserted) ? inserted : [inserted];
      }
      return [withInsertions(item)];
    });
  }
  if (node && typeof node === 'object') {
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (isInsertion(key) && value && typeof value === 'object' && !Array.isArray(value)) {
        Object.assign(out, withInsertions(value));
      } else {
        out[key] = withInsertions(value);
      }
    }
    return out;
  }
  return node;
}

/** The repository's pipelines: YAML files with steps/jobs/stages/extends, Markdown YAML blocks using the task. */
function repositoryPipelines() {
  const found = [];
  for (const path of files(ROOT)) {
    if (/\.ya?ml$/.test(path)) {
      const doc = YAML.parse(readFileSync(path, 'utf8'));
      if (doc && typeof doc === 'object' && PIPELINE_KEYS.some((key) => key in doc)) {
        found.push({ where: relative(ROOT, path), doc });
      }
    } else if (path.endsWith('.md')) {
      const blocks = readFileSync(path, 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g);
      for (const [, text] of blocks) {
        if (text.includes('Databricks@1')) {
          found.push({ where: `${relative(ROOT, path)} (YAML example)`, doc: YAML.parse(text) });
        }
      }
    }
  }
  return found;
}

/** A step setting every input of the task to a value its type allows, connections by their YAML key. */
function stepWithEveryInput() {
  const entry = schemaEntry(task).properties.inputs.properties;
  const inputs = Object.fromEntries(
    Object.entries(entry).map(([key, schema]) => [
      key,
      schema.enum ? schema.enum[0] : schema.type === 'boolean' ? true : 'x',
    ]),
  );
  return { task: 'Databricks@1', displayName: 'every input', inputs };
}

const pipeline = (...steps) => ({ trigger: ['main'], pool: { vmImage: 'ubuntu-latest' }, steps });

describe('the Databricks@1 YAML schema entry', () => {
  let validatePipeline;
  let validateStep;
  before(() => {
    validatePipeline = ajv().compile(withAliases(withTask(sharedSchema('azure-pipelines.schema.json'), task)));
    validateStep = ajv().compile(withAliases(schemaEntry(task)));
  });

  /** Validates a pipeline; on failure, the message holds the errors of each Databricks@1 step alone (readable). */
  function assertValid(doc, where) {
    if (validatePipeline(doc)) return;
    const details = findSteps(doc)
      .filter((step) => !validateStep(step))
      .map(() => JSON.stringify(validateStep.errors, null, 1));
    assert.fail(
      `${where} does not validate:\n${details.join('\n') || JSON.stringify(validatePipeline.errors.slice(0, 5))}`,
    );
  }

  it('accepts a step that sets every input', () => {
    assertValid(pipeline(stepWithEveryInput()), 'the step with every input');
  });

  it('accepts the task with no inputs at all (every required input has a default)', () => {
    assertValid(pipeline({ task: 'Databricks@1' }), 'a bare step');
  });

  it('accepts an input by its name as well as by its alias', () => {
    assertValid(pipeline({ task: 'Databricks@1', inputs: { databricksConnection: 'c' } }), 'the input name');
    assertValid(pipeline({ task: 'Databricks@1', inputs: { connection: 'c' } }), 'the alias');
  });

  it('validates every pipeline of the repository and the YAML examples of its documentation', () => {
    const pipelines = repositoryPipelines();
    assert.ok(
      pipelines.some((p) => p.where.startsWith('docs/')),
      'the documentation has YAML examples',
    );
    for (const file of ['azure-pipelines.yml', 'examples/lending-club/azure-pipelines.yml']) {
      assert.ok(
        pipelines.some((p) => p.where === file),
        `${file} is one of the pipelines validated`,
      );
    }
    for (const { where, doc } of pipelines) {
      assertValid(withInsertions(doc), where);
    }
  });

  for (const [mistake, step] of [
    ['an unknown input', { task: 'Databricks@1', inputs: { notebook: 'tests/x' } }],
    ['a command that does not exist', { task: 'Databricks@1', inputs: { command: 'publish' } }],
    ['a boolean input set to a word', { task: 'Databricks@1', inputs: { publishTestResults: 'maybe' } }],
    ['a version of the task that does not exist', { task: 'Databricks@2' }],
  ]) {
    it(`rejects ${mistake}`, () => {
      assert.equal(validatePipeline(pipeline(step)), false);
    });
  }
});

/** Every step object of a pipeline document, wherever it is nested. */
function findSteps(node) {
  if (Array.isArray(node)) return node.flatMap(findSteps);
  if (!node || typeof node !== 'object') return [];
  return [...(node.task === 'Databricks@1' ? [node] : []), ...Object.values(node).flatMap(findSteps)];
}
