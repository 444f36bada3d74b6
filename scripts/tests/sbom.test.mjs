// The task's bill of materials (scripts/sbom.mjs) is a valid CycloneDX 1.5 document, checked against the
// specification's own JSON schema, for the packages this repository actually ships.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLock } from '../pure-python.mjs';
import { cycloneDx } from '../sbom.mjs';
import { ROOT, readJson, sharedSchema } from './files.mjs';

/** The shipped Python packages as buildWheels reports them, from the Python 3.12 lock (the wheel file is a stand-in). */
const python = parseLock(readFileSync(join(ROOT, 'requirements', 'wheels-3.12.txt'), 'utf8')).map((entry) => ({
  ...entry,
  file: `${entry.name}-${entry.version}-py3-none-any.whl`,
  pythons: ['3.12'],
}));
const sbom = cycloneDx({
  extension: readJson('vss-extension.json'),
  python,
  npmLock: readJson('tasks/databricks/package-lock.json'),
});

describe('sbom.cdx.json', () => {
  it("validates against CycloneDX's 1.5 JSON schema", () => {
    // The schema's formats (iri-reference, idn-email...) are annotations here: ajv knows none without ajv-formats.
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema(sharedSchema('cyclonedx-spdx.schema.json'));
    ajv.addSchema(sharedSchema('cyclonedx-jsf-0.82.schema.json'));
    const validate = ajv.compile(sharedSchema('cyclonedx-bom-1.5.schema.json'));
    assert.ok(validate(sbom), JSON.stringify(validate.errors, null, 2));
  });

  it('lists every locked wheel with its sha256 and every production Node package with its sha512', () => {
    for (const entry of python) {
      const component = sbom.components.find((c) => c.purl === `pkg:pypi/${entry.name}@${entry.version}`);
      assert.deepEqual(component?.hashes, [{ alg: 'SHA-256', content: entry.sha256 }], entry.name);
    }
    const lock = readJson('tasks/databricks/package-lock.json');
    const production = Object.entries(lock.packages).filter(([path, pkg]) => path && !pkg.dev);
    const npm = sbom.components.filter((c) => c.purl.startsWith('pkg:npm/'));
    assert.equal(npm.length, production.length);
    assert.ok(npm.every((c) => c.hashes.length === 1 && /^[0-9a-f]{128}$/.test(c.hashes[0].content)));
  });
});
