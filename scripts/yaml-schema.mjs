// The YAML schema entry of a task, generated from its task.json the way Azure DevOps generates the entries of
// installed extensions' tasks (compare e.g. AzureCLI@2 and JenkinsQueueJob@2 in azure-pipelines.schema.json):
// - the input's YAML key is its first alias, the name and further aliases become `aliases`;
// - boolean -> {"type": "boolean"}; int -> {"type": "integer"}; pickList/radio with fixed options -> an `enum` of
//   the option keys matched case-insensitively; everything else (strings, multi-line, connections, pickLists with
//   EditableOptions) -> {"type": "string"};
// - `required` lists required inputs that are always shown and have no default; `inputs` itself is required only
//   when that list is not empty; unknown inputs are refused (`additionalProperties: false`).
//
// `node scripts/yaml-schema.mjs [SCHEMA] > out.json` prints the entry, or SCHEMA with the entry added.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @param {{name: string, version: {Major: number}}} task */
export const taskReference = (task) => `${task.name}@${task.version.Major}`;

/** @param {{type: string, options?: object, properties?: Record<string, unknown>}} input */
function hasFixedOptions(input) {
  return (
    ['pickList', 'radio'].includes(input.type) && Boolean(input.options) && input.properties?.EditableOptions !== 'True'
  );
}

/** The schema of one input, keyed by its YAML name. */
function inputSchema(input) {
  const aliases = input.aliases?.length ? [input.name, ...input.aliases.slice(1)] : undefined;
  const type = { boolean: 'boolean', int: 'integer' }[input.type];
  const schema = hasFixedOptions(input)
    ? { description: input.label, ignoreCase: 'all', enum: Object.keys(input.options) }
    : { type: type || 'string', description: input.label, ignoreCase: 'key' };
  return [input.aliases?.[0] || input.name, aliases ? { ...schema, aliases } : schema];
}

/** Required in YAML: marked required, shown whatever the other inputs say, and without a default. */
function requiredInYaml(input, groups) {
  const conditional = Boolean(input.visibleRule || groups.get(input.groupName)?.visibleRule);
  return Boolean(input.required) && !conditional && String(input.defaultValue ?? '') === '';
}

/** The `definitions.task.anyOf` entry for a task. */
export function schemaEntry(task) {
  const groups = new Map((task.groups || []).map((group) => [group.name, group]));
  const properties = Object.fromEntries(task.inputs.map(inputSchema));
  const required = task.inputs.filter((input) => requiredInYaml(input, groups)).map((input) => inputSchema(input)[0]);
  return {
    properties: {
      task: {
        description: `${task.friendlyName}\n\n${task.description}`,
        ignoreCase: 'value',
        pattern: `^${taskReference(task)}$`,
      },
      inputs: {
        description: `${task.friendlyName} inputs`,
        properties,
        additionalProperties: false,
        required,
      },
    },
    doNotSuggest: false,
    firstProperty: ['task'],
    required: required.length ? ['task', 'inputs'] : ['task'],
  };
}

/** The `definitions.task.properties.task.anyOf` entry that offers the task's name in completions. */
export function nameEntry(task) {
  return { description: task.description, doNotSuggest: false, ignoreCase: 'value', enum: [taskReference(task)] };
}

/**
 * A copy of a pipeline schema with the task's entries added (replacing earlier entries of the same task).
 * @param {any} pipelineSchema the contents of azure-pipelines.schema.json
 * @param {any} task the contents of task.json
 */
export function withTask(pipelineSchema, task) {
  const schema = structuredClone(pipelineSchema);
  const definition = schema.definitions.task;
  const pattern = `^${taskReference(task)}$`;
  definition.anyOf = [...definition.anyOf.filter((e) => e.properties?.task?.pattern !== pattern), schemaEntry(task)];
  const names = definition.properties.task.anyOf;
  definition.properties.task.anyOf = [...names.filter((e) => !e.enum?.includes(taskReference(task))), nameEntry(task)];
  return schema;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const task = JSON.parse(readFileSync(join(ROOT, 'task.json'), 'utf8'));
  const [schemaPath] = process.argv.slice(2);
  const output = schemaPath ? withTask(JSON.parse(readFileSync(schemaPath, 'utf8')), task) : schemaEntry(task);
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}
