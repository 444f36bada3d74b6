// vss-extension.json: what the Marketplace requires, the task contribution, and the `databricks` service
// connection type declaring exactly the authorization parameters the Python core reads.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, pythonFunction, readJson } from './files.mjs';

const extension = readJson('vss-extension.json');
const task = readJson('task.json');
const contribution = (type) => extension.contributions.find((c) => c.type === type);
const endpointType = contribution('ms.vss-endpoint.service-endpoint-type').properties;
const scheme = (type) =>
  endpointType.authenticationSchemes.find((s) => s.type === `ms.vss-endpoint.endpoint-auth-scheme-${type}`);

describe('vss-extension.json', () => {
  it('has what the Marketplace requires', () => {
    assert.equal(extension.manifestVersion, 1);
    assert.match(extension.id, /^[A-Za-z0-9_-]+$/);
    for (const field of ['publisher', 'version', 'name', 'description']) {
      assert.ok(extension[field], `${field} is missing`);
    }
    assert.ok(extension.description.length <= 200);
    assert.ok(extension.categories.includes('Azure Pipelines'));
    assert.deepEqual(extension.targets, [{ id: 'Microsoft.VisualStudio.Services' }]);
    for (const link of ['getstarted', 'support', 'license']) {
      assert.match(extension.links[link].uri, /^https:\/\//);
    }
  });

  it('names only files that exist', () => {
    const paths = [
      ...extension.files.map((file) => file.path),
      extension.icons.default,
      extension.content.details.path,
      endpointType.icon,
    ];
    for (const path of paths) {
      assert.ok(existsSync(join(ROOT, path)), `${path} is missing`);
    }
  });

  it('contributes the task folder that the packaging stages task.json into', () => {
    const { properties, targets } = contribution('ms.vss-distributed-task.task');
    assert.deepEqual(targets, ['ms.vss-distributed-task.tasks']);
    assert.ok(extension.files.some((file) => file.path === properties.name));
    assert.ok(existsSync(join(ROOT, properties.name, 'index.js')));
  });

  it('declares the service connection type that the task input asks for', () => {
    const input = task.inputs.find((i) => i.name === 'databricksConnection');
    assert.equal(input.type, `connectedService:${endpointType.name}`);
  });

  it('sends a personal access token as a Bearer token in parameter apitoken', () => {
    const token = scheme('token');
    assert.deepEqual(token.headers, [{ name: 'Authorization', value: 'Bearer {{endpoint.apitoken}}' }]);
    assert.deepEqual(
      token.inputDescriptors.map((d) => [d.id, d.isConfidential]),
      [['apitoken', true]],
    );
  });

  it('declares exactly the parameters the core reads from a databricks connection, secrets confidential', () => {
    const declared = endpointType.authenticationSchemes.flatMap((s) => s.inputDescriptors.map((d) => d.id)).sort();
    const reader = pythonFunction('python_src/dbcicd/connect/auth.py', '_databricks_connection');
    const read = [...reader.matchAll(/_parameter\(endpoint, "(\w+)"\)/g)].map((match) => match[1]);
    assert.deepEqual(declared, [...new Set(read)].sort());
    const m2m = scheme('none');
    assert.deepEqual(
      m2m.inputDescriptors.map((d) => [d.id, d.isConfidential]),
      [
        ['clientId', false],
        ['clientSecret', true],
      ],
    );
  });

  it('lets Azure DevOps verify a connection against the workspace', () => {
    const test = endpointType.dataSources.find((source) => source.name === 'TestConnection');
    // The '/' after the URL: a server URL saved without a trailing slash still gives .../api/2.0/...
    // (tests/contract/test_service_connection_verify.py expands it both ways).
    assert.match(test.endpointUrl, /^\{\{endpoint\.url\}\}\/api\/2\.0\//);
  });
});
