// The list of what the task ships, as a CycloneDX 1.5 JSON bill of materials (tasks/databricks/sbom.cdx.json in the
// .vsix): every Python wheel (from the hashed locks, with the sha256 of the file shipped) and every production Node
// package (from the task's package-lock.json, with its sha512 integrity). Written here rather than by CycloneDX's
// own generators: cyclonedx-py describes an installed environment or a requirements file, not the wheels of four
// Python versions side by side, and would be a build dependency outside the locks; cyclonedx-npm needs a full
// node_modules tree. The format is the specification's (cyclonedx.org/docs/1.5/json): components of type library
// with name, version, a package URL (github.com/package-url/purl-spec, types pypi and npm) and hashes.

/**
 * @typedef {import('./wheels.mjs').ShippedPackage} ShippedPackage
 * @typedef {{packages: Record<string, {version?: string, integrity?: string, dev?: boolean,
 *   license?: string}>}} NpmLock
 */

/** pkg:npm/%40scope/name@1.0.0 for node_modules/@scope/name */
function npmPurl(name, version) {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** @param {string} integrity e.g. "sha512-<base64>" @returns {{alg: string, content: string}[]} */
function npmHashes(integrity = '') {
  const [alg, base64] = integrity.split('-', 2);
  return alg === 'sha512' && base64 ? [{ alg: 'SHA-512', content: Buffer.from(base64, 'base64').toString('hex') }] : [];
}

/**
 * @param {{extension: {id: string, name: string, version: string, publisher: string}, python: ShippedPackage[],
 *   npmLock: NpmLock}} shipped
 * @returns {object} the CycloneDX document
 */
export function cycloneDx({ extension, python, npmLock }) {
  const pythonComponents = python.map((pkg) => ({
    type: 'library',
    'bom-ref': `pkg:pypi/${pkg.name}@${pkg.version}`,
    name: pkg.name,
    version: pkg.version,
    purl: `pkg:pypi/${pkg.name}@${pkg.version}`,
    hashes: [{ alg: 'SHA-256', content: pkg.sha256 }],
    properties: [
      { name: 'dbcicd:file', value: `tasks/databricks/wheels/${pkg.file}` },
      { name: 'dbcicd:python-versions', value: pkg.pythons.join(',') },
    ],
  }));
  const npmComponents = Object.entries(npmLock.packages)
    .filter(([path, pkg]) => path.startsWith('node_modules/') && !pkg.dev && pkg.version)
    .map(([path, pkg]) => {
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      return {
        type: 'library',
        'bom-ref': `${npmPurl(name, pkg.version)}#${path}`,
        name,
        version: pkg.version,
        purl: npmPurl(name, pkg.version),
        hashes: npmHashes(pkg.integrity),
        ...(pkg.license ? { licenses: [{ expression: pkg.license }] } : {}),
        properties: [{ name: 'dbcicd:file', value: `tasks/databricks/${path}` }],
      };
    });
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      component: {
        type: 'application',
        'bom-ref': `${extension.publisher}.${extension.id}`,
        name: extension.name,
        version: extension.version,
        publisher: extension.publisher,
        licenses: [{ license: { id: 'MIT' } }],
      },
    },
    components: [...pythonComponents, ...npmComponents].sort((a, b) => a['bom-ref'].localeCompare(b['bom-ref'])),
  };
}
