// `npm run package -- --publisher <id>`: the .vsix carries the user's Marketplace publisher id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publisherArgs, publisherFrom } from '../publisher.mjs';
import { readJson } from './files.mjs';

describe('publisher', () => {
  it('comes from --publisher, else DBCICD_PUBLISHER, else the manifest', () => {
    assert.equal(publisherFrom(['--publisher', 'contoso'], { DBCICD_PUBLISHER: 'other' }), 'contoso');
    assert.equal(publisherFrom(['--publisher=contoso-data'], {}), 'contoso-data');
    assert.equal(publisherFrom([], { DBCICD_PUBLISHER: 'fabrikam' }), 'fabrikam');
    assert.equal(publisherFrom([], {}), '');
    assert.deepEqual(publisherArgs('contoso'), ['--publisher', 'contoso']);
    assert.deepEqual(publisherArgs(''), []);
  });

  it('refuses what Marketplace would not take, before packaging', () => {
    assert.throws(() => publisherFrom(['--publisher'], {}), /needs your Marketplace publisher id/);
    assert.throws(() => publisherFrom(['--publisher', 'my publisher'], {}), /not a Marketplace publisher id/);
  });

  it("names the endpoint type after the extension, so that it cannot collide with another extension's", () => {
    const manifest = readJson('vss-extension.json');
    const endpoint = manifest.contributions.find((c) => c.type === 'ms.vss-endpoint.service-endpoint-type');
    assert.equal(endpoint.properties.name, `${manifest.id}-databricks`);
    const task = readJson('task.json');
    assert.ok(task.inputs.some((input) => input.type === `connectedService:${manifest.id}-databricks`));
  });
});
