// Running the build's helper programs (pip, npm, tfx): their output is kept and shown only when they fail, so the
// build prints its own short summary instead of pages of resolver chatter.
import { spawn } from 'node:child_process';

/**
 * Runs a program to completion.
 * @param {string} command
 * @param {string[]} args
 * @param {{cwd?: string, env?: NodeJS.ProcessEnv}} [options]
 * @returns {Promise<{stdout: string, stderr: string}>} rejects with the program's output when it exits non-zero
 */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    // npm and tfx are .cmd scripts on Windows, which only a shell can start.
    const shell = process.platform === 'win32' && !command.endsWith('.exe');
    const child = spawn(command, args, { ...options, shell, windowsHide: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (err) => reject(new Error(`${command} could not be started: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) {
        resolve({ stdout, stderr });
      } else {
        reject(new Error(`${[command, ...args].join(' ')} exited with code ${code}\n${stdout}${stderr}`));
      }
    });
  });
}

/**
 * Like Promise.all, but settles only when every promise has: a failure is reported once the other helper programs
 * have exited too, so the caller's `finally` never removes a folder they are still writing into (rm then fails with
 * ENOTEMPTY and hides the real error).
 * @template T
 * @param {Promise<T>[]} promises
 * @returns {Promise<T[]>} rejects with the first failure, in the order given
 */
export async function allSettled(promises) {
  const outcomes = await Promise.allSettled(promises);
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    throw failed.reason;
  }
  return outcomes.map((outcome) => /** @type {PromiseFulfilledResult<T>} */ (outcome).value);
}
