// Shared set-up of the entry point's tests: a task folder laid out as in the VSIX, the agent's environment for it,
// and running it with the task library's mock-run harness (or directly, to send it signals). Python is
// fake-python.js, found on the PATH as `python3`.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { MockTestRunner } = require('azure-pipelines-task-lib/mock-test');
const { commandFromString } = require('azure-pipelines-task-lib/taskcommand');

const TASK_SOURCE = path.join(__dirname, '..');
const REPO_ROOT = path.join(TASK_SOURCE, '..', '..');
const SCENARIO = path.join(__dirname, 'scenario.js');
const FAKE_PYTHON = path.join(__dirname, 'fake-python.js');
const TASK_JSON = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'task.json'), 'utf8'));
const WHEEL_SETS = ['3.10', '3.11', '3.12', '3.13'];

/** What the agent keeps secret; tests check that none of it is printed. */
const SECRETS = { pat: 'dapi-test-0123456789abcdef', accessToken: 'azdo-access-token-fedcba9876543210' };

/** A Databricks service connection with a personal access token. */
const DATABRICKS_CONNECTION = {
  id: '1f0c7a52-54c1-4a9e-9d0e-8f3c5d2b7a61',
  url: 'https://adb-1234567890123456.7.azuredatabricks.net/',
  scheme: 'Token',
  parameters: { apitoken: SECRETS.pat },
};

const created = [];
process.on('exit', () => created.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** An empty folder that is removed when the process ends. */
function temporaryDirectory() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbcicd-task-test-'));
  created.push(dir);
  return dir;
}

/** The task folder as the VSIX has it: entry point files, task.json, node_modules and a wheels manifest. */
function stageTask(dir) {
  fs.mkdirSync(path.join(dir, 'wheels'), { recursive: true });
  for (const entry of fs.readdirSync(TASK_SOURCE, { withFileTypes: true })) {
    if (entry.isFile() && /\.(js|py)$/.test(entry.name)) {
      fs.copyFileSync(path.join(TASK_SOURCE, entry.name), path.join(dir, entry.name));
    }
  }
  fs.copyFileSync(path.join(REPO_ROOT, 'task.json'), path.join(dir, 'task.json'));
  fs.symlinkSync(path.join(TASK_SOURCE, 'node_modules'), path.join(dir, 'node_modules'), 'junction');
  const wheel = 'dbcicd-0.0.0-py3-none-any.whl';
  const manifest = {
    sets: Object.fromEntries(WHEEL_SETS.map((v) => [v, [wheel]])),
    sha256: { [wheel]: '0'.repeat(64) },
    files: Object.fromEntries(WHEEL_SETS.map((v) => [v, {}])), // fake-python.js unpacks no file
  };
  fs.writeFileSync(path.join(dir, 'wheels', 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

/** The agent's variable name in the environment. */
const environmentName = (name) => name.toUpperCase().replace(/[. ]/g, '_');

/**
 * The environment the agent gives the task: inputs (task.json defaults for the ones not given), the connections
 * the inputs name, System.AccessToken, and the variables.
 * @param {{inputs?: Record<string, string>, connections?: Record<string, any>, variables?: Record<string, string>}} job
 */
function agentEnvironment({ inputs = {}, connections = {}, variables = {} }) {
  const env = {};
  for (const input of TASK_JSON.inputs) {
    const value = connections[input.name]?.id ?? inputs[input.name] ?? String(input.defaultValue ?? '');
    env[`INPUT_${environmentName(input.name)}`] = value;
  }
  const all = {
    SYSTEMVSSCONNECTION: {
      id: 'SYSTEMVSSCONNECTION',
      url: 'https://dev.azure.com/example/',
      scheme: 'OAuth',
      parameters: { AccessToken: SECRETS.accessToken },
    },
    ...connections,
  };
  for (const connection of Object.values(all)) {
    env[`ENDPOINT_URL_${connection.id}`] = connection.url;
    env[`ENDPOINT_AUTH_${connection.id}`] = JSON.stringify({
      parameters: connection.parameters,
      scheme: connection.scheme,
    });
    env[`ENDPOINT_AUTH_SCHEME_${connection.id}`] = connection.scheme;
    for (const [key, value] of Object.entries(connection.parameters)) {
      env[`ENDPOINT_AUTH_PARAMETER_${connection.id}_${key.toUpperCase()}`] = value;
    }
    for (const [key, value] of Object.entries(connection.data || {})) {
      env[`ENDPOINT_DATA_${connection.id}_${key.toUpperCase()}`] = value;
    }
  }
  env.SECRET_SYSTEM_ACCESSTOKEN = SECRETS.accessToken;
  for (const [name, value] of Object.entries(variables)) {
    env[environmentName(name)] = value;
  }
  return env;
}

/**
 * Everything one run needs: a staged task, a PATH whose python3 and python are the fake, a tool cache, a call log.
 * @param {{inputs?: object, connections?: object, variables?: object, fake?: Record<string, string>,
 *   tools?: string}} job
 */
function prepare(job) {
  const dir = temporaryDirectory();
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  // Both names the task looks for on the PATH, so no Python of this machine is ever found.
  fs.symlinkSync(FAKE_PYTHON, path.join(bin, 'python3'));
  fs.symlinkSync(FAKE_PYTHON, path.join(bin, 'python'));
  const log = path.join(dir, 'python-calls.jsonl');
  fs.writeFileSync(log, '');
  const tools = job.tools || path.join(dir, 'tools');
  const temp = path.join(dir, 'temp');
  fs.mkdirSync(temp);
  const env = {
    ...agentEnvironment(job),
    AGENT_TOOLSDIRECTORY: tools,
    AGENT_TEMPDIRECTORY: temp,
    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
    FAKE_PYTHON_LOG: log,
    DBCICD_TASK_DIR: stageTask(path.join(dir, 'task')),
    ...(job.fake || {}),
  };
  const calls = () =>
    fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  return { env, tools, calls, taskDir: env.DBCICD_TASK_DIR };
}

/**
 * Runs the task with MockTestRunner (which starts Node on the scenario with this process's environment).
 * @returns {Promise<{tr: MockTestRunner, calls: any[], tools: string, commands: any[]}>}
 */
async function runTask(job = {}) {
  const { env, tools, calls, taskDir } = prepare(job);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const tr = new MockTestRunner(SCENARIO, path.join(taskDir, 'task.json'));
    tr.nodePath = process.execPath; // the machine's Node: MockTestRunner would otherwise download one
    await tr.runAsync();
    return { tr, calls: calls(), tools, commands: commandsOf(tr.stdout) };
  } finally {
    for (const key of Object.keys(process.env)) {
      if (!(key in saved)) {
        delete process.env[key];
      }
    }
    Object.assign(process.env, saved);
  }
}

/** Starts the task as the agent does (a child process it can signal). */
function startTask(job = {}) {
  const { env, calls } = prepare(job);
  const child = spawn(process.execPath, [SCENARIO], { env: { ...process.env, ...env } });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const output = () => stdout;
  const exited = new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, commands: commandsOf(stdout) })),
  );
  return { child, calls, output, exited };
}

/** The logging commands in an output, in order. */
function commandsOf(stdout) {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.includes('##vso['))
    .map((line) => commandFromString(line.slice(line.indexOf('##vso['))));
}

/** The task.complete result, e.g. "Succeeded". */
function resultOf(commands) {
  const completes = commands.filter((c) => c.command === 'task.complete');
  return completes.length === 1 ? completes[0].properties.result : `${completes.length} task.complete commands`;
}

module.exports = {
  SECRETS,
  DATABRICKS_CONNECTION,
  TASK_JSON,
  runTask,
  startTask,
  resultOf,
  temporaryDirectory,
  stageTask,
};
