// The request document built from what the agent hands over, read through a stand-in for the task library that
// records what was logged (task-lib writes input and variable values to debug lines).
'use strict';
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { describe, it } = require('node:test');
const { PIPELINE_VARIABLES, readRequest } = require('../request');
const { TASK_JSON } = require('./helpers');

const ARM_ID = '7d1f3a0e-2b4c-4e8f-9a6d-5c3b2a1f0e9d';
const DATABRICKS_ID = '2c4e6a8b-0d1f-4a3b-8c5d-7e9f1a2b3c4d';
const TOKEN = 'system-access-token-0001';

/** A task library whose inputs, connections and variables are the given ones; every read is logged. */
function agent({ inputs = {}, endpoints = {}, variables = {}, secretVariables = {} }) {
  const reads = [];
  const withDefaults = Object.fromEntries(
    TASK_JSON.inputs.map((i) => [i.name, inputs[i.name] ?? String(i.defaultValue ?? '')]),
  );
  const all = { SYSTEMVSSCONNECTION: { auth: { scheme: 'OAuth', parameters: { AccessToken: TOKEN } } }, ...endpoints };
  return {
    reads,
    getInput: (name) => (reads.push(`input ${name}`), withDefaults[name]),
    getVariable: (name) => (reads.push(`variable ${name}`), variables[name]),
    // As task-lib's own (node/task.ts): every variable the agent passed, each marked secret or not.
    getVariables: () => [
      ...Object.entries(variables).map(([name, value]) => ({ name, value, secret: false })),
      ...Object.entries(secretVariables).map(([name, value]) => ({ name, value, secret: true })),
    ],
    setStdStream: () => undefined,
    getEndpointUrl: (id) => all[id]?.url,
    getEndpointAuthorization: (id) => all[id]?.auth,
    getEndpointDataParameter: (id, key) => all[id]?.data?.[key],
    // As task-lib's own (node/task.ts): the Agent.* variables, the bypass list parsed from JSON.
    getHttpProxyConfiguration: () =>
      variables['Agent.ProxyUrl']
        ? {
            proxyUrl: variables['Agent.ProxyUrl'],
            proxyUsername: variables['Agent.ProxyUsername'],
            proxyPassword: variables['Agent.ProxyPassword'],
            proxyBypassHosts: JSON.parse(variables['Agent.ProxyBypassList'] || '[]'),
          }
        : null,
    getHttpCertConfiguration: () =>
      variables['Agent.CAInfo'] || variables['Agent.ClientCert']
        ? { caFile: variables['Agent.CAInfo'], certFile: variables['Agent.ClientCert'] }
        : null,
    loc: (key, ...args) => [key, ...args].join(' '),
  };
}

describe('readRequest', () => {
  it('reads every input task.json declares, with hidden ones empty', () => {
    const tl = agent({ inputs: { command: 'cleanup', olderThanHours: '48', notebooks: 'tests/*' } });
    const { document, notices } = readRequest(tl, TASK_JSON, {});
    assert.deepEqual(
      Object.keys(document.inputs),
      TASK_JSON.inputs.map((input) => input.name),
    );
    assert.equal(document.inputs.olderThanHours, '48');
    assert.equal(document.inputs.tempFolder, '');
    assert.equal(document.inputs.cloneTimeoutSeconds, '600');
    assert.equal(document.inputs.notebooks, '');
    assert.deepEqual(notices, ['InputIgnored notebooks command = run || command = test']);
  });

  it('treats a default naming an undefined variable as empty, and says so', () => {
    const tl = agent({ inputs: { command: 'test', gitUrl: '$(Build.Repository.Uri)' } });
    const { document, notices } = readRequest(tl, TASK_JSON, {});
    assert.equal(document.inputs.gitUrl, '');
    assert.deepEqual(notices, ['UnexpandedVariable gitUrl $(Build.Repository.Uri)']);
  });

  it('passes an Azure Resource Manager connection with workload identity federation', () => {
    const auth = {
      scheme: 'WorkloadIdentityFederation',
      parameters: { serviceprincipalid: 'app-1', tenantid: 'tenant-1' },
    };
    const endpoints = {
      [ARM_ID]: {
        url: 'https://management.azure.com/',
        auth,
        data: { environmentAuthorityUrl: 'https://login.microsoftonline.us/' },
      },
    };
    const inputs = {
      command: 'run',
      connectionType: 'azureRM',
      azureSubscription: ARM_ID,
      workspaceUrl: 'https://adb-1.2.azuredatabricks.net',
    };
    const { document } = readRequest(agent({ inputs, endpoints }), TASK_JSON, {});
    assert.deepEqual(document.endpoints, {
      azureSubscription: {
        id: ARM_ID,
        url: 'https://management.azure.com/',
        scheme: 'WorkloadIdentityFederation',
        parameters: { serviceprincipalid: 'app-1', tenantid: 'tenant-1' },
        data: { environmentAuthorityUrl: 'https://login.microsoftonline.us/' },
      },
    });
  });

  it('passes a Databricks connection with an OAuth machine-to-machine secret', () => {
    const auth = { scheme: 'None', parameters: { clientId: 'sp-1', clientSecret: 'secret-1' } };
    const inputs = { command: 'test', databricksConnection: DATABRICKS_ID };
    const endpoints = { [DATABRICKS_ID]: { url: 'https://dbc-1.cloud.databricks.com/', auth } };
    const { document } = readRequest(agent({ inputs, endpoints }), TASK_JSON, {});
    assert.deepEqual(document.endpoints.databricksConnection.parameters, {
      clientId: 'sp-1',
      clientSecret: 'secret-1',
    });
    assert.equal(document.endpoints.databricksConnection.scheme, 'None');
  });

  it('fails naming the input when the agent passed no such connection', () => {
    const tl = agent({ inputs: { command: 'test', databricksConnection: DATABRICKS_ID } });
    assert.throws(() => readRequest(tl, TASK_JSON, {}), {
      message: `EndpointNotPassed databricksConnection ${DATABRICKS_ID}`,
    });
  });

  it('reports an unreadable authorization without quoting it', () => {
    const tl = agent({ inputs: { command: 'test', databricksConnection: DATABRICKS_ID } });
    tl.getEndpointAuthorization = (id) => {
      if (id === DATABRICKS_ID) throw new Error('Invalid endpoint authorization: {"apitoken": "dapi-secret"');
    };
    assert.throws(() => readRequest(tl, TASK_JSON, {}), {
      message: `EndpointAuthUnreadable ${DATABRICKS_ID} databricksConnection`,
    });
  });

  it('takes System.AccessToken from the built-in connection, never through getVariable', () => {
    const tl = agent({
      inputs: { command: 'test' },
      variables: { 'Build.BuildId': '12', 'System.AccessToken': 'wrong' },
    });
    const { document } = readRequest(tl, TASK_JSON, {});
    assert.equal(document.variables['System.AccessToken'], TOKEN);
    assert.equal(document.variables['Build.BuildId'], '12');
    assert.ok(!tl.reads.includes('variable System.AccessToken'), 'getVariable would log the token');
  });

  it('passes the values of the secret variables, once each, and no public value', () => {
    const tl = agent({
      inputs: { command: 'test' },
      variables: { 'Build.BuildId': '12' },
      secretVariables: { 'Storage.Key': 'storage-key-0001', 'Other.Key': 'storage-key-0001', 'Empty.Key': '' },
    });
    const { document } = readRequest(tl, TASK_JSON, {});
    assert.deepEqual(document.secrets, ['storage-key-0001']);
  });

  it('falls back to SYSTEM_ACCESSTOKEN mapped into the environment with env:', () => {
    const tl = agent({ inputs: { command: 'test' } });
    tl.getEndpointAuthorization = () => undefined;
    const { document } = readRequest(tl, TASK_JSON, { SYSTEM_ACCESSTOKEN: 'mapped-token' });
    assert.equal(document.variables['System.AccessToken'], 'mapped-token');
  });

  it('passes every pipeline variable the Python core names', () => {
    const core = path.join(__dirname, '..', '..', '..', 'python_src', 'dbcicd');
    const named = new Set();
    const readers = fs.readdirSync(core, { recursive: true }).filter((name) => name.endsWith('.py'));
    for (const file of readers) {
      const source = fs.readFileSync(path.join(core, file), 'utf8');
      for (const match of source.matchAll(/"((?:Build|System|Agent)\.[A-Za-z.]+)"/g)) {
        named.add(match[1]);
      }
    }
    assert.ok(named.has('Build.SourceVersion'), 'no variable names found in the core');
    const passed = [...PIPELINE_VARIABLES, 'System.AccessToken'];
    assert.deepEqual(
      [...named].filter((name) => !passed.includes(name)),
      [],
    );
  });
});

describe('readRequest announcing secrets', () => {
  it('announces System.AccessToken before reading any input, then each secret line of a connection', () => {
    const auth = {
      scheme: 'ServicePrincipal',
      parameters: {
        serviceprincipalid: 'app-000001',
        tenantid: 'tenant-000001',
        serviceprincipalkey: 'first-key-line\nsecond-key-line',
      },
    };
    const tl = agent({
      inputs: { command: 'cleanup', connectionType: 'azureRM', azureSubscription: ARM_ID },
      endpoints: { [ARM_ID]: { url: 'https://management.azure.com/', auth } },
    });
    const events = [];
    const getInput = tl.getInput;
    tl.getInput = (name) => (events.push(`input ${name}`), getInput(name));
    readRequest(tl, TASK_JSON, {}, (secret) => events.push(`secret ${secret}`));
    assert.equal(events[0], `secret ${TOKEN}`);
    assert.deepEqual(
      events.filter((event) => event.startsWith('secret')),
      [`secret ${TOKEN}`, 'secret first-key-line', 'secret second-key-line'],
    );
  });
});

describe('readRequest network settings', () => {
  it('passes no network part on an agent without a proxy or CA certificate', () => {
    const { document } = readRequest(agent({ inputs: { command: 'cleanup' } }), TASK_JSON, {});
    assert.deepEqual(document.network, {});
  });

  it("passes the agent's proxy, its bypass list and CA certificate, announcing the proxy password", () => {
    const variables = {
      'Agent.ProxyUrl': 'http://proxy.example:8888',
      'Agent.ProxyUsername': 'builder',
      'Agent.ProxyPassword': 'proxy-password-0001',
      'Agent.ProxyBypassList': JSON.stringify(['adb-1\\.azuredatabricks\\.net', '.*\\.internal']),
      'Agent.CAInfo': '/agent/ca.pem',
      'Agent.ClientCert': '/agent/client.pem',
    };
    const announced = [];
    const { document } = readRequest(agent({ inputs: { command: 'cleanup' }, variables }), TASK_JSON, {}, (s) =>
      announced.push(s),
    );
    assert.deepEqual(document.network, {
      proxyUrl: 'http://proxy.example:8888',
      proxyUsername: 'builder',
      proxyPassword: 'proxy-password-0001',
      proxyBypass: ['adb-1\\.azuredatabricks\\.net', '.*\\.internal'],
      caInfo: '/agent/ca.pem',
    });
    assert.ok(announced.includes('proxy-password-0001'));
  });
});
