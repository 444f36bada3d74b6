// docs/task-reference.md, generated from task.json so the documented inputs never drift from the declared ones:
// `node scripts/task-reference.mjs` rewrites it; a test fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { taskReference } from './yaml-schema.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_PATH = join(ROOT, 'docs', 'task-reference.md');

const EXAMPLE = `steps:
  - task: UsePythonVersion@0
    inputs:
      versionSpec: '3.12'
  - task: Databricks@1
    name: databricks
    inputs:
      command: test
      connection: my-databricks-connection
      notebooks: tests/test_*
  - script: echo "run $(databricks.runId) ended $(databricks.resultState)"`;

/** Table cells hold one line: line breaks become <br>, pipes are escaped. */
const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

function typeOf(input) {
  if (input.type.startsWith('connectedService:')) {
    return `service connection (${input.type.slice('connectedService:'.length)})`;
  }
  if (input.options) {
    const keys = Object.keys(input.options)
      .map((key) => `\`${key}\``)
      .join(', ');
    return input.properties?.EditableOptions === 'True' ? `string, e.g. ${keys}` : `one of ${keys}`;
  }
  return { multiLine: 'string (multi-line)', boolean: 'boolean' }[input.type] || input.type;
}

function nameOf(input) {
  const [yaml, ...others] = input.aliases?.length
    ? [input.aliases[0], input.name, ...input.aliases.slice(1)]
    : [input.name];
  return [`\`${yaml}\``, ...others.map((name) => `(or \`${name}\`)`)].join(' ');
}

/** @param {any} task the contents of task.json @returns {string} the Markdown page */
export function taskReferenceMarkdown(task) {
  const lines = [
    `# ${taskReference(task)} task reference`,
    '',
    '<!-- Generated from task.json by scripts/task-reference.mjs; edit task.json, then run the script. -->',
    '',
    task.description + '.',
    '',
    task.helpMarkDown,
    '',
    '```yaml',
    EXAMPLE,
    '```',
    '',
  ];
  const groups = [{ name: '', displayName: 'Command' }, ...(task.groups || [])];
  for (const group of groups) {
    const inputs = task.inputs.filter((input) => (input.groupName || '') === group.name);
    lines.push(`## ${group.displayName}`, '');
    if (group.visibleRule) {
      lines.push(`Shown when \`${group.visibleRule}\`.`, '');
    }
    lines.push('| input | type | default | shown when | description |', '| --- | --- | --- | --- | --- |');
    for (const input of inputs) {
      const fallback = String(input.defaultValue ?? '');
      const required = input.required ? ' **required**' : '';
      lines.push(
        `| ${nameOf(input)}${required} | ${cell(typeOf(input))} | ${fallback ? `\`${cell(fallback)}\`` : ''} | ` +
          `${input.visibleRule ? `\`${cell(input.visibleRule)}\`` : ''} | ${cell(input.helpMarkDown || input.label)} |`,
      );
    }
    lines.push('');
  }
  lines.push('## Output variables', '', '| variable | description |', '| --- | --- |');
  for (const variable of task.outputVariables || []) {
    lines.push(`| \`${variable.name}\` | ${cell(variable.description || '')} |`);
  }
  lines.push(
    '',
    'Read them in a later step of the same job as `$(<step name>.<variable>)`, in a later job as',
    "`dependencies.<job>.outputs['<step name>.<variable>']`.",
    '',
  );
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const task = JSON.parse(readFileSync(join(ROOT, 'task.json'), 'utf8'));
  writeFileSync(REFERENCE_PATH, taskReferenceMarkdown(task));
  console.log(`wrote ${REFERENCE_PATH}`);
}
