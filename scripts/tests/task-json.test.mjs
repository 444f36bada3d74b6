// task.json: Microsoft's schema, the extra rules tfx checks when packaging, and agreement with the code on both
// sides of it (the Node entry point's messages, the inputs the Python core reads).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv-draft-04';
import { ROOT, readJson, sharedSchema } from './files.mjs';

const task = readJson('task.json');
const TASK_DIR = join(ROOT, 'tasks', 'databricks');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Inputs the core reads that the task does not offer, and why. */
const CLI_ONLY_INPUTS = {
  publishAzureDevOps: 'under an agent, results.publish already makes the test run',
  dryRun: 'cleanup --dry-run lists what it would do, for a person at a terminal',
  sourceDir: 'under an agent, source upload uploads Build.SourcesDirectory, the checkout the job made',
};
/** Inputs only the Node side reads. */
const NODE_ONLY_INPUTS = ['pythonPath'];

/** Every input name the Python core reads from the request (`request.text("x")`, `inputs.get("x")`, ...). */
function inputsReadByCore() {
  const names = new Set();
  const dir = join(ROOT, 'python_src', 'dbcicd');
  const files = readdirSync(dir, { recursive: true }).filter((name) => name.endsWith('.py'));
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8');
    const pattern =
      /(?:\.(?:text|required|flag|number|whole_seconds|lines|choice)\(|inputs\.get\(|inputs\[)"([A-Za-z]+)"/g;
    for (const match of source.matchAll(pattern)) {
      names.add(match[1]);
    }
    for (const match of source.matchAll(/^([A-Z_]+_INPUT) = "([A-Za-z]+)"$/gm)) {
      names.add(match[2]);
    }
  }
  return names;
}

describe('task.json', () => {
  it('validates against tasks.schema.json', () => {
    const validate = new Ajv({ strict: false, unicodeRegExp: false }).compile(sharedSchema('tasks.schema.json'));
    assert.ok(validate(task), JSON.stringify(validate.errors, null, 2));
  });

  it('asks for an agent that knows the Node16 handler (2.206.1 or later)', () => {
    const [major, minor, patch] = task.minimumAgentVersion.split('.').map(Number);
    assert.ok(major > 2 || (major === 2 && (minor > 206 || (minor === 206 && patch >= 1))), task.minimumAgentVersion);
  });

  it("meets tfx's rules: GUID id, name, friendlyName of at most 40 characters, instanceNameFormat", () => {
    assert.match(task.id, GUID);
    assert.match(task.name, /^[A-Za-z0-9-]+$/);
    assert.ok(task.friendlyName.length <= 40);
    assert.ok(task.instanceNameFormat);
  });

  it('runs on the Node24, Node20_1 and Node16 handlers, whose target is in the task folder', () => {
    // Node16: agents 2.206.1 to 3.230.1 know no newer handler (README, "Agents and Azure DevOps Server").
    assert.deepEqual(Object.keys(task.execution).sort(), ['Node16', 'Node20_1', 'Node24']);
    for (const handler of Object.values(task.execution)) {
      assert.ok(existsSync(join(TASK_DIR, handler.target)), `${handler.target} is missing`);
    }
  });

  it('gives every input a unique name, help, and an existing group', () => {
    const groups = new Set(task.groups.map((group) => group.name));
    const names = task.inputs.flatMap((input) => [input.name, ...(input.aliases || [])]);
    assert.equal(new Set(names).size, names.length, 'names and aliases must be unique');
    for (const input of task.inputs) {
      assert.ok(input.helpMarkDown, `${input.name} has no helpMarkDown`);
      assert.ok(!input.groupName || groups.has(input.groupName), `${input.name}: no group ${input.groupName}`);
    }
  });

  it('writes visibility rules that name only inputs declared before the rule', async () => {
    const { parseRule } = await import('../../tasks/databricks/manifest.js');
    const seen = new Set();
    const groupRules = new Map(task.groups.map((group) => [group.name, group.visibleRule]));
    for (const input of task.inputs) {
      for (const rule of [input.visibleRule, groupRules.get(input.groupName)].filter(Boolean)) {
        for (const clause of parseRule(rule).clauses) {
          assert.ok(seen.has(clause.name), `${input.name}: '${rule}' names ${clause.name}, not declared before it`);
        }
      }
      seen.add(input.name);
    }
  });

  it('declares every input the Python core reads, and the core reads every input declared', () => {
    const read = inputsReadByCore();
    const declared = task.inputs.map((input) => input.name);
    const connections = task.inputs.filter((input) => input.type.startsWith('connectedService:')).map((i) => i.name);
    const undeclared = [...read].filter((name) => !declared.includes(name) && !(name in CLI_ONLY_INPUTS));
    assert.deepEqual(undeclared, []);
    const unread = declared.filter(
      (name) => !read.has(name) && !connections.includes(name) && !NODE_ONLY_INPUTS.includes(name),
    );
    assert.deepEqual(unread, []);
  });

  it('has a message for every tl.loc key the entry point uses, and no unused message', () => {
    const used = new Set();
    for (const file of readdirSync(TASK_DIR).filter((name) => name.endsWith('.js'))) {
      const source = readFileSync(join(TASK_DIR, file), 'utf8');
      for (const match of source.matchAll(/\.loc\('([A-Za-z]+)'/g)) {
        used.add(match[1]);
      }
    }
    assert.deepEqual(
      [...used].filter((key) => !(key in task.messages)),
      [],
    );
    assert.deepEqual(
      Object.keys(task.messages).filter((key) => !used.has(key)),
      [],
    );
  });

  it('has the same version as the extension and the Node packages', () => {
    const { Major, Minor, Patch } = task.version;
    const version = `${Major}.${Minor}.${Patch}`;
    assert.equal(readJson('vss-extension.json').version, version);
    assert.equal(readJson('package.json').version, version);
    assert.equal(readJson('tasks/databricks/package.json').version, version);
  });
});
