// Whose extension the .vsix is: the publisher id in vss-extension.json is a placeholder, and a Marketplace
// publisher can only upload extensions carrying its own id. `npm run package -- --publisher <id>` or the
// environment variable DBCICD_PUBLISHER sets it; tfx's `extension create --publisher` overrides the manifest's
// (tfx-cli, app/exec/extension/default.ts: "Use this as the publisher ID instead of what is specified in the manifest").

/** What Marketplace accepts as a publisher id: letters, digits, hyphens and underscores, starting with a letter. */
const PUBLISHER_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * The publisher id asked for, or '' for the manifest's.
 * @param {string[]} argv the script's arguments
 * @param {NodeJS.ProcessEnv} env
 * @returns {string}
 */
export function publisherFrom(argv, env) {
  const at = argv.findIndex((arg) => arg === '--publisher' || arg.startsWith('--publisher='));
  const fromFlag = at < 0 ? undefined : argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  if (at >= 0 && !fromFlag) {
    throw new Error('--publisher needs your Marketplace publisher id, e.g. --publisher contoso');
  }
  const publisher = (fromFlag ?? env.DBCICD_PUBLISHER ?? '').trim();
  if (publisher && !PUBLISHER_ID.test(publisher)) {
    throw new Error(`'${publisher}' is not a Marketplace publisher id (letters, digits, - and _; a letter first)`);
  }
  return publisher;
}

/**
 * The tfx arguments that make the extension the publisher's.
 * @param {string} publisher
 * @returns {string[]}
 */
export function publisherArgs(publisher) {
  return publisher ? ['--publisher', publisher] : [];
}
