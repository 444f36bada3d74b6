// @ts-check
'use strict';
/**
 * The request document the Python core reads from stdin: every input task.json declares, the chosen service
 * connections, the pipeline variables the core needs, and the agent's proxy and certificate settings —
 * `{"inputs": {name: string}, "endpoints": {input name: {id, url, scheme, parameters, data}}, "variables": {...},
 *   "network": {proxyUrl, proxyUsername, proxyPassword, proxyBypass: [regex], caInfo}, "secrets": [string]}`
 * (`network` holds only what the agent set; it is `{}` on an agent without a proxy or CA certificate; `secrets` holds
 * the values of the job's secret variables, which the core masks in everything it prints and writes).
 *
 * Secrets travel only in this document: importing the task library moves INPUT_*, ENDPOINT_AUTH_* and SECRET_*
 * out of the environment, so a child process would not see them, and argv or files can be read by others.
 * Nothing here logs a secret: authorizations are read whole with getEndpointAuthorization (which logs only whether
 * one exists), never with getEndpointAuthorizationParameter or getVariable, which write values to debug lines.
 * The one exception is Agent.ProxyPassword, which getHttpProxyConfiguration reads with getVariable: the agent set it
 * as a secret variable, so it masks that line, and the task library already read it so on import
 * (_exposeProxySettings in its internal.ts); it is announced as a secret as well. getVariables, the one way to learn
 * which variables are secret, reads every variable with getVariable too: its debug lines go to a sink (setStdStream).
 */
const { Writable } = require('stream');
const { visibleValues } = require('./manifest');

/**
 * Pipeline variables the core reads: `dbcicd.options.build.VARIABLES` (which build, commit and step this is) and what
 * signing in and reporting need (workload identity federation, azure-devops-oidc, pull request comments, the
 * report folder), and System.Debug (the core then logs databricks-sdk's requests as debug lines).
 * System.AccessToken is added separately because it is a secret.
 */
const PIPELINE_VARIABLES = [
  'Build.BuildId',
  'Build.Repository.Uri',
  'Build.SourceBranch',
  'Build.SourceVersion',
  'Build.SourcesDirectory',
  'System.JobAttempt',
  'System.JobId',
  'System.TaskInstanceId',
  'System.PullRequest.SourceBranch',
  'System.PullRequest.SourceCommitId',
  'System.PullRequest.PullRequestId',
  'System.PullRequest.PullRequestNumber',
  'System.CollectionUri',
  'System.TeamProject',
  'Build.Repository.ID',
  'Build.Repository.Provider', // pull-request comments only for TfsGit
  'System.OidcRequestUri',
  'System.TeamFoundationCollectionUri',
  'System.TeamProjectId',
  'System.PlanId',
  'System.HostType',
  'Agent.TempDirectory',
  'System.Debug',
];

/** Endpoint data parameters the core reads (keys as Azure DevOps spells them). */
const ENDPOINT_DATA_KEYS = ['environmentAuthorityUrl'];

/** The built-in connection whose `AccessToken` parameter is System.AccessToken. */
const SYSTEM_CONNECTION = 'SYSTEMVSSCONNECTION';

/** Endpoint parameters that are not secrets (as PUBLIC_ENDPOINT_PARAMETERS in dbcicd/entry/task.py). */
const PUBLIC_PARAMETERS = ['serviceprincipalid', 'tenantid', 'clientid', 'scope', 'scopelevel'];

/** Shorter values are not credentials; masking them would mangle the log (as MIN_SECRET_LENGTH in dbcicd/secrets.py). */
const MIN_SECRET_LENGTH = 6;

/** A value that is nothing but a macro, e.g. `$(Build.Repository.Uri)`: the agent leaves undefined ones as they are. */
const UNEXPANDED = /^\$\([A-Za-z0-9_.]+\)$/;

/**
 * @typedef {import('./manifest').TaskManifest} TaskManifest
 * @typedef {{id: string, url: string, scheme: string, parameters: Record<string, string>,
 *   data: Record<string, string>}} Endpoint
 * @typedef {{inputs: Record<string, string>, endpoints: Record<string, Endpoint>,
 *   variables: Record<string, string>, network: Network, secrets: string[]}} RequestDocument
 * @typedef {{proxyUrl?: string, proxyUsername?: string, proxyPassword?: string, proxyBypass?: string[],
 *   caInfo?: string}} Network
 * @typedef {{getInput(name: string, required?: boolean): string | undefined,
 *   getVariable(name: string): string | undefined,
 *   getVariables(): {name: string, value: string | undefined, secret: boolean}[],
 *   setStdStream(stream: NodeJS.WritableStream): void,
 *   getEndpointUrl(id: string, optional: boolean): string | undefined,
 *   getEndpointAuthorization(id: string, optional: boolean):
 *     {scheme?: string, parameters?: Record<string, string>} | undefined,
 *   getEndpointDataParameter(id: string, key: string, optional: boolean): string | undefined,
 *   getHttpProxyConfiguration(requestUrl?: string): {proxyUrl: string, proxyUsername?: string,
 *     proxyPassword?: string, proxyBypassHosts: string[]} | null,
 *   getHttpCertConfiguration(): {caFile?: string, certFile?: string} | null,
 *   loc(key: string, ...args: unknown[]): string}} TaskLib
 */

/**
 * Reads everything the core needs from the agent, announcing each secret (`announce`, e.g. tl.setSecret) the moment
 * it is read: System.AccessToken before any input, since the task library writes every input value it reads to a
 * debug line and an input may hold `$(System.AccessToken)`; the connections' secrets as soon as they are read.
 * @param {TaskLib} tl the task library (or a stand-in in tests)
 * @param {TaskManifest} manifest task.json
 * @param {NodeJS.ProcessEnv} env where a user may have mapped SYSTEM_ACCESSTOKEN with `env:`
 * @param {(secret: string) => void} announce
 * @returns {{document: RequestDocument, notices: string[]}} notices: what the user should know (ignored inputs)
 */
function readRequest(tl, manifest, env = process.env, announce = () => undefined) {
  const variables = readVariables(tl, env);
  secretLines([variables['System.AccessToken'] || '']).forEach(announce);
  const network = readNetwork(tl);
  secretLines([network.proxyPassword || '']).forEach(announce);
  const notices = [];
  const visible = visibleValues(manifest, (name) => (tl.getInput(name, false) || '').trim());
  for (const { name, rule } of visible.ignored) {
    notices.push(tl.loc('InputIgnored', name, rule));
  }
  /** @type {Record<string, string>} */
  const values = {};
  for (const [name, value] of Object.entries(visible.values)) {
    const unexpanded = UNEXPANDED.test(value);
    if (unexpanded) {
      notices.push(tl.loc('UnexpandedVariable', name, value));
    }
    values[name] = unexpanded ? '' : value;
  }
  /** @type {Record<string, Endpoint>} */
  const endpoints = {};
  for (const input of manifest.inputs) {
    if (input.type.startsWith('connectedService:') && values[input.name]) {
      endpoints[input.name] = readEndpoint(tl, input.name, values[input.name]);
      secretLines(endpointSecrets(endpoints[input.name])).forEach(announce);
    }
  }
  const secrets = readSecretVariables(tl);
  return { document: { inputs: values, endpoints, variables, network, secrets }, notices };
}

/**
 * The values of the job's secret variables. A pipeline may hand one to a notebook (`parameters: key=$(Storage.Key)`:
 * the agent expands macros in inputs, secret ones too) and the notebook may print it, fail with it or write it to
 * a file; the agent masks secrets in its log only ("Set secret variables", learn.microsoft.com/azure/devops/pipelines/
 * process/set-secret-variables), so the core masks them in its files. The task library knows which variables are
 * secret from the agent's SECRET_<NAME> environment variables and VSTS_SECRET_VARIABLES (its internal.ts
 * _loadData), and getVariables reports that as `secret` (its task.ts, VariableInfo).
 * @param {TaskLib} tl @returns {string[]}
 */
function readSecretVariables(tl) {
  // getVariables writes `name=value` of every variable to a debug line (getVariable): those lines go nowhere.
  tl.setStdStream(new Writable({ write: (_chunk, _encoding, done) => done() }));
  let variables;
  try {
    variables = tl.getVariables();
  } finally {
    tl.setStdStream(process.stdout);
  }
  const values = variables.filter((info) => info.secret && info.value).map((info) => String(info.value));
  return [...new Set(values)];
}

/** @param {TaskLib} tl @param {string} inputName @param {string} id @returns {Endpoint} */
function readEndpoint(tl, inputName, id) {
  const url = tl.getEndpointUrl(id, true);
  let authorization;
  try {
    authorization = tl.getEndpointAuthorization(id, true);
  } catch {
    // The library's own message would quote the unreadable authorization, secrets included.
    throw new Error(tl.loc('EndpointAuthUnreadable', id, inputName));
  }
  if (!url && !authorization) {
    throw new Error(tl.loc('EndpointNotPassed', inputName, id));
  }
  /** @type {Record<string, string>} */
  const data = {};
  for (const key of ENDPOINT_DATA_KEYS) {
    const value = tl.getEndpointDataParameter(id, key, true);
    if (value) {
      data[key] = value;
    }
  }
  return {
    id,
    url: url || '',
    scheme: authorization?.scheme || '',
    parameters: { ...(authorization?.parameters || {}) },
    data,
  };
}

/** @param {TaskLib} tl @param {NodeJS.ProcessEnv} env @returns {Record<string, string>} */
function readVariables(tl, env) {
  /** @type {Record<string, string>} */
  const variables = {};
  for (const name of PIPELINE_VARIABLES) {
    const value = tl.getVariable(name);
    if (value) {
      variables[name] = value;
    }
  }
  const system = tl.getEndpointAuthorization(SYSTEM_CONNECTION, true);
  const token = system?.parameters?.AccessToken || env.SYSTEM_ACCESSTOKEN;
  if (token) {
    variables['System.AccessToken'] = token;
  }
  return variables;
}

/**
 * The agent's proxy (Agent.ProxyUrl, Agent.ProxyUsername, the secret Agent.ProxyPassword and Agent.ProxyBypassList,
 * a JSON array of regular expressions) and its CA certificate (Agent.CAInfo), read with the task library's own
 * helpers, as Microsoft's tasks read them: getHttpProxyConfiguration without a URL returns the whole configuration,
 * bypass list included (azure-pipelines-task-lib node/task.ts). The agent sets these variables only when it was
 * configured with --proxyurl / --sslcacert (azure-pipelines-agent ExecutionContext.cs, "Proxy variables").
 * Client certificates (Agent.ClientCert*) are not passed: the core's HTTP client has no setting for them.
 * @param {TaskLib} tl @returns {Network}
 */
function readNetwork(tl) {
  /** @type {Network} */
  const network = {};
  const proxy = tl.getHttpProxyConfiguration();
  if (proxy) {
    network.proxyUrl = proxy.proxyUrl;
    if (proxy.proxyUsername) {
      network.proxyUsername = proxy.proxyUsername;
    }
    if (proxy.proxyPassword) {
      network.proxyPassword = proxy.proxyPassword;
    }
    network.proxyBypass = (proxy.proxyBypassHosts || []).map(String);
  }
  const certificates = tl.getHttpCertConfiguration();
  if (certificates?.caFile) {
    network.caInfo = certificates.caFile;
  }
  return network;
}

/** @param {Endpoint} endpoint @returns {string[]} the values of its authorization parameters that are secrets */
function endpointSecrets(endpoint) {
  return Object.entries(endpoint.parameters)
    .filter(([name]) => !PUBLIC_PARAMETERS.includes(name.toLowerCase()))
    .map(([, value]) => String(value));
}

/**
 * Secrets as the agent takes them: line by line (it refuses multi-line values), none too short to be a credential.
 * @param {string[]} values @returns {string[]}
 */
function secretLines(values) {
  const lines = values.flatMap((value) => value.split(/\r\n|\r|\n/)).map((line) => line.trim());
  return [...new Set(lines.filter((line) => line.length >= MIN_SECRET_LENGTH))];
}

module.exports = { readRequest, PIPELINE_VARIABLES, ENDPOINT_DATA_KEYS };
