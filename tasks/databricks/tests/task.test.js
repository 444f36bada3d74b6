// The entry point run whole with the task library's mock-run harness, Python being fake-python.js: what reaches
// Python, how its exit becomes the task result, signals, the tool cache, and that no secret is printed.
'use strict';
const assert = require('node:assert/strict');
const path = require('path');
const { describe, it } = require('node:test');
const { DATABRICKS_CONNECTION, SECRETS, resultOf, runTask, startTask, temporaryDirectory } = require('./helpers');

const TEST_INPUTS = { command: 'test', notebooks: 'tests/test_*' };
const CONNECTED = { connections: { databricksConnection: DATABRICKS_CONNECTION } };

/** No secret printed, but where it is announced to the agent (task.setsecret), which hides it from the log. */
function assertNoSecret(stdout) {
  const shown = stdout
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('##vso[task.setsecret]'))
    .join('\n');
  for (const secret of Object.values(SECRETS)) {
    assert.ok(!shown.includes(secret), `a secret was printed:\n${stdout}`);
  }
}

describe('Databricks@1 entry point', () => {
  it('hands the inputs, the service connection, System.AccessToken and the variables to Python on stdin', async () => {
    const variables = {
      'Build.SourceBranch': 'refs/heads/main',
      'Build.BuildId': '77',
      'System.OidcRequestUri': 'https://oidc.example/',
    };
    const { tr, calls, commands } = await runTask({ inputs: TEST_INPUTS, variables, ...CONNECTED });
    assert.equal(resultOf(commands), 'Succeeded', tr.stdout);
    const core = calls.find((call) => call.call === 'core');
    assert.equal(core.document.inputs.command, 'test');
    assert.equal(core.document.inputs.notebooks, 'tests/test_*');
    assert.equal(core.document.inputs.cloneTimeoutSeconds, '600', 'defaults the agent fills in are passed on');
    assert.deepEqual(core.document.endpoints.databricksConnection, {
      id: DATABRICKS_CONNECTION.id,
      url: DATABRICKS_CONNECTION.url,
      scheme: 'Token',
      parameters: { apitoken: SECRETS.pat },
      data: {},
    });
    assert.equal(core.document.variables['System.AccessToken'], SECRETS.accessToken);
    assert.equal(core.document.variables['Build.SourceBranch'], 'refs/heads/main');
    assert.equal(core.document.variables['System.OidcRequestUri'], 'https://oidc.example/');
    assert.ok(core.args.includes('-I'), 'Python runs isolated from the agent PYTHON* settings');
    assertNoSecret(tr.stdout);
  });

  it('announces every secret to the agent before it prints anything but debug lines', async () => {
    const { tr } = await runTask({ inputs: TEST_INPUTS, ...CONNECTED });
    const lines = tr.stdout.split(/\r?\n/).filter((line) => line && !line.startsWith('##vso[task.debug]'));
    const announced = lines.findIndex((line) => !line.startsWith('##vso[task.setsecret]'));
    assert.deepEqual(
      lines
        .slice(0, announced)
        .map((line) => line.slice('##vso[task.setsecret]'.length))
        .sort(),
      Object.values(SECRETS).sort(),
      tr.stdout,
    );
  });

  it('passes the Python output through to the agent', async () => {
    const { commands } = await runTask({ inputs: TEST_INPUTS, ...CONNECTED });
    const variable = commands.find((c) => c.command === 'task.setvariable');
    assert.equal(variable.properties.variable, 'runId');
    assert.equal(variable.message, '42');
  });

  for (const [exit, result, message] of [
    ['1', 'Failed', 'loc_mock_ResultFailed'],
    ['2', 'Failed', 'loc_mock_ResultConfiguration'],
    ['3', 'Failed', 'loc_mock_ResultInternal'],
    ['4', 'Failed', 'loc_mock_ResultBundleFailed'],
    ['130', 'Canceled', 'loc_mock_ResultCancelled'],
    ['137', 'Failed', 'loc_mock_ResultOutOfMemory'],
    ['9', 'Failed', 'loc_mock_ResultUnexpected 9'],
  ]) {
    it(`maps Python exit code ${exit} to ${result}`, async () => {
      const { commands } = await runTask({ inputs: TEST_INPUTS, ...CONNECTED, fake: { FAKE_PYTHON_EXIT: exit } });
      const complete = commands.find((c) => c.command === 'task.complete');
      assert.equal(complete.properties.result, result);
      assert.equal(complete.message, message);
    });
  }

  it('fails naming UsePythonVersion@0 when the only Python is too old', async () => {
    const { tr, calls } = await runTask({ inputs: TEST_INPUTS, ...CONNECTED, fake: { FAKE_PYTHON_VERSION: '3.9.18' } });
    assert.ok(tr.failed);
    assert.equal(tr.errorIssues.length, 1);
    assert.match(
      tr.errorIssues[0],
      /^loc_mock_PythonNotFound python3: Python 3\.9\.18 at .*; python: Python 3\.9\.18 at /,
    );
    assert.ok(!calls.some((call) => call.call === 'core'), 'the core must not start');
  });

  it('fails with the reason when the pythonPath input names no interpreter', async () => {
    const missing = path.join(temporaryDirectory(), 'no-python');
    const { tr } = await runTask({ inputs: { ...TEST_INPUTS, pythonPath: missing }, ...CONNECTED });
    assert.ok(tr.failed);
    assert.match(tr.errorIssues[0], new RegExp(`PythonNotFound ${missing}: not found`));
  });

  it('prepares the core once per tool cache and reuses it in later runs', async () => {
    const tools = temporaryDirectory();
    const first = await runTask({ inputs: TEST_INPUTS, ...CONNECTED, tools });
    const second = await runTask({ inputs: TEST_INPUTS, ...CONNECTED, tools });
    const installs = (run) => run.calls.filter((call) => call.call === 'install');
    assert.equal(installs(first).length, 1);
    assert.equal(installs(first)[0].set, '3.12');
    assert.match(installs(first)[0].target, /dbcicd[\\/]1\.\d+\.\d+[\\/][0-9a-f]{12}[\\/]py3\.12$/);
    assert.ok(installs(first)[0].target.startsWith(tools));
    assert.equal(installs(second).length, 0);
    assert.match(second.tr.stdout, /loc_mock_CoreCached /);
    assert.equal(resultOf(second.commands), 'Succeeded');
  });

  it('ignores an input its visibility rule hides, and says so', async () => {
    const inputs = { ...TEST_INPUTS, existingClusterId: '0123-456789-abc' };
    const { tr, calls } = await runTask({ inputs, ...CONNECTED });
    const core = calls.find((call) => call.call === 'core');
    assert.equal(core.document.inputs.existingClusterId, '');
    assert.match(tr.stdout, /loc_mock_InputIgnored existingClusterId compute = existingCluster/);
  });

  it('reads no Databricks connection when another way to connect is chosen', async () => {
    const inputs = { ...TEST_INPUTS, connectionType: 'environment' };
    const { calls } = await runTask({ inputs, ...CONNECTED });
    assert.deepEqual(calls.find((call) => call.call === 'core').document.endpoints, {});
  });

  it('forwards SIGINT to Python and reports the run as cancelled', async () => {
    const task = startTask({ inputs: TEST_INPUTS, ...CONNECTED, fake: { FAKE_PYTHON_WAIT: 'signal' } });
    await waitFor(() => task.output().includes('READY'));
    task.child.kill('SIGINT');
    const { commands, stdout } = await task.exited;
    assert.deepEqual(
      task.calls().filter((call) => call.call === 'signal'),
      [{ call: 'signal', signal: 'SIGINT' }],
    );
    assert.equal(resultOf(commands), 'Canceled');
    assert.match(stdout, /loc_mock_Cancelling SIGINT/);
  });

  it('sends the signal again while Python runs on (a signal can be lost while its interpreter starts)', async () => {
    const task = startTask({ inputs: TEST_INPUTS, ...CONNECTED, fake: { FAKE_PYTHON_WAIT: 'signal-twice' } });
    await waitFor(() => task.output().includes('READY'));
    task.child.kill('SIGINT');
    const { commands } = await task.exited;
    assert.deepEqual(
      task.calls().filter((call) => call.call === 'signal'),
      [
        { call: 'signal', signal: 'SIGINT' },
        { call: 'signal', signal: 'SIGINT' },
      ],
    );
    assert.equal(resultOf(commands), 'Canceled');
  });

  it('forwards SIGTERM to Python', async () => {
    const task = startTask({ inputs: TEST_INPUTS, ...CONNECTED, fake: { FAKE_PYTHON_WAIT: 'signal' } });
    await waitFor(() => task.output().includes('READY'));
    task.child.kill('SIGTERM');
    await task.exited;
    assert.deepEqual(
      task.calls().filter((call) => call.call === 'signal'),
      [{ call: 'signal', signal: 'SIGTERM' }],
    );
  });
});

/** Polls `condition` every 20 ms for up to 10 s. */
async function waitFor(condition) {
  const deadline = Date.now() + 10000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
