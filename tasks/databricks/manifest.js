// @ts-check
'use strict';
/**
 * task.json, the single declaration of the task's inputs, and the visibility rules it gives them.
 *
 * The classic editor hides an input whose `visibleRule` (or whose group's rule) does not hold, but keeps its value,
 * and the agent passes that value on. An input the user cannot see must not steer the run, so the entry point
 * evaluates the same rules and treats hidden inputs as empty.
 */
const fs = require('fs');
const path = require('path');

/** Beside this file in the packaged task folder; the repository root's in the source tree. */
const TASK_JSON_PLACES = [path.join(__dirname, 'task.json'), path.join(__dirname, '..', '..', 'task.json')];

/**
 * @typedef {{name: string, type: string, label: string, defaultValue?: string | boolean, required?: boolean,
 *   groupName?: string, visibleRule?: string, aliases?: string[], options?: Record<string, string>,
 *   helpMarkDown?: string, properties?: Record<string, unknown>}} TaskInput
 * @typedef {{name: string, displayName: string, isExpanded?: boolean, visibleRule?: string}} TaskGroup
 * @typedef {{id: string, name: string, friendlyName: string, description: string,
 *   version: {Major: number, Minor: number, Patch: number}, inputs: TaskInput[], groups?: TaskGroup[],
 *   outputVariables?: {name: string, description?: string}[], execution: Record<string, {target: string}>,
 *   messages?: Record<string, string>}} TaskManifest
 * @typedef {{name: string, operator: '=' | '!=', value: string}} Clause
 * @typedef {{joiner: '&&' | '||', clauses: Clause[]}} Rule
 */

/** @returns {string} the path of task.json */
function taskJsonPath() {
  const found = TASK_JSON_PLACES.find((place) => fs.existsSync(place));
  if (!found) {
    throw new Error(`task.json is missing: looked in ${TASK_JSON_PLACES.join(' and ')}`);
  }
  return found;
}

/** @returns {TaskManifest} */
function loadManifest(file = taskJsonPath()) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** @param {TaskManifest} manifest @returns {string} e.g. "1.0.3" */
function taskVersion(manifest) {
  const { Major, Minor, Patch } = manifest.version;
  return `${Major}.${Minor}.${Patch}`;
}

const CLAUSE = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(==|!=|=)\s*(.*?)\s*$/;

/**
 * Parses a visibleRule such as `command = run || command = test` or `a != "" && b = x`: clauses `name = value`,
 * `name == value` or `name != value` (`""` is the empty value), joined by only `&&` or only `||`, as the classic
 * editor reads them. Other operators are refused, so a rule this file cannot evaluate fails the tests, not a user.
 * @param {string} rule @returns {Rule}
 */
function parseRule(rule) {
  const joiner = rule.includes('||') ? '||' : '&&';
  if (joiner === '||' && rule.includes('&&')) {
    throw new Error(`visibleRule '${rule}' mixes && and ||, which the classic editor does not support`);
  }
  const clauses = rule.split(joiner).map((part) => {
    const match = CLAUSE.exec(part);
    if (!match) {
      throw new Error(`visibleRule '${rule}': '${part.trim()}' is not 'name = value' or 'name != value'`);
    }
    const value = match[3] === '""' ? '' : match[3];
    return { name: match[1], operator: match[2] === '!=' ? '!=' : '=', value };
  });
  return { joiner, clauses };
}

/**
 * @param {Rule} rule
 * @param {(name: string) => string} valueOf the value of an input, '' when unset or hidden
 */
function ruleHolds(rule, valueOf) {
  const results = rule.clauses.map((clause) => {
    const equal = valueOf(clause.name).toLowerCase() === clause.value.toLowerCase();
    return clause.operator === '=' ? equal : !equal;
  });
  return rule.joiner === '&&' ? results.every(Boolean) : results.some(Boolean);
}

/**
 * The value of every input as the user sees the form: hidden inputs become '' and are reported in `ignored`
 * (with the rule that hides them) when they had a value. Rules may only name inputs declared before them.
 * @param {TaskManifest} manifest
 * @param {(name: string) => string} read the raw value of an input ('' when unset)
 * @returns {{values: Record<string, string>, ignored: {name: string, rule: string}[]}}
 */
function visibleValues(manifest, read) {
  /** @type {Record<string, string>} */
  const values = {};
  const ignored = [];
  const groups = new Map((manifest.groups || []).map((group) => [group.name, group]));
  const valueOf = (/** @type {string} */ name) => values[name] ?? '';
  for (const input of manifest.inputs) {
    const raw = read(input.name);
    const rules = [groups.get(input.groupName || '')?.visibleRule, input.visibleRule].filter(
      /** @returns {rule is string} */ (rule) => Boolean(rule),
    );
    const hiddenBy = rules.find((rule) => !ruleHolds(parseRule(rule), valueOf));
    values[input.name] = hiddenBy ? '' : raw;
    if (hiddenBy && raw && raw !== String(input.defaultValue ?? '')) {
      ignored.push({ name: input.name, rule: hiddenBy });
    }
  }
  return { values, ignored };
}

module.exports = { taskJsonPath, loadManifest, taskVersion, parseRule, ruleHolds, visibleValues };
