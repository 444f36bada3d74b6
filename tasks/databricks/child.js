// @ts-check
'use strict';
/**
 * Running the core: one child process that gets the request document on stdin and writes its logging commands
 * straight to the agent (stdout and stderr are shared), and the mapping of its exit code to the task result.
 *
 * Cancellation: the agent sends SIGINT, then SIGTERM 7.5 s later, then kills this process only (not its children),
 * and the task library does not forward signals. So both are passed on to Python, which cancels the Databricks run
 * and deletes its temporary Git folder. A signal that reaches Python while its interpreter is still starting can be
 * lost, so it is sent again every RESEND_MS until Python exits (the core acts on the first and ignores the others).
 * On Windows the agent sends CTRL_C, then CTRL_BREAK 7.5 s later, then kills the process tree (azure-pipelines-agent,
 * src/Agent.Sdk/ProcessInvoker.cs, SendSIGINT and SendSIGTERM; ProcessInvoker.Windows.cs, SendCtrlSignal calls
 * GenerateConsoleCtrlEvent(signal, 0), which reaches every process of the agent's console, Python included, and
 * WindowsKillProcessTree). `kill()` would terminate Python outright, so nothing is forwarded there; but Node reads
 * CTRL_BREAK as SIGBREAK, whose default ends this process at once, so SIGBREAK is held and noted like the others.
 */
const { spawn } = require('child_process');

const POSIX_SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM']);
const WINDOWS_SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGBREAK']);
const RESEND_MS = 1000;
/**
 * The lifeline: a pipe on the core's descriptor LIFELINE_FD that this process holds and never writes to. When this
 * process ends, however it ends (the agent's kill on Linux and macOS ends it alone, not its children), the system
 * closes its end and the core, reading end-of-file, cancels the run, deletes its folder and exits
 * (python_src/dbcicd/entry/lifeline.py).
 */
const LIFELINE_FD = 3;
const LIFELINE_VARIABLE = 'DBCICD_LIFELINE_FD';

/**
 * The signals that mean "cancel" on `platform`.
 * @param {NodeJS.Platform} platform
 * @returns {readonly NodeJS.Signals[]}
 */
function cancelSignals(platform = process.platform) {
  return platform === 'win32' ? WINDOWS_SIGNALS : POSIX_SIGNALS;
}

/** Signals that came before the core started, passed on as soon as it has. */
const held = /** @type {NodeJS.Signals[]} */ ([]);
const hold = (/** @type {NodeJS.Signals} */ signal) => {
  held.push(signal);
};

/**
 * Until the core runs, SIGINT/SIGTERM (and SIGBREAK on Windows) are held rather than ending this process at once (Node's default for a signal
 * nobody listens to), so that a cancellation while the task starts still reaches the core and ends as cancelled.
 */
function holdSignals(platform = process.platform) {
  for (const signal of cancelSignals(platform)) {
    process.on(signal, hold);
  }
}

/** Exit codes of `python -m dbcicd task`. */
const EXIT = { OK: 0, FAILED: 1, CONFIGURATION: 2, INTERNAL: 3, BUNDLE_FAILED: 4, OUT_OF_MEMORY: 137, CANCELLED: 130 };

/**
 * @typedef {{command: string, args: string[]}} Command
 * @typedef {{code: number | null, signal: NodeJS.Signals | null, cancelledBy?: NodeJS.Signals | null}} Exit
 *   `cancelledBy`: the first signal passed on to the core, if any
 * @typedef {{loc(key: string, ...args: unknown[]): string}} Localizer
 */

/**
 * Starts the core, writes `input` to its stdin, forwards SIGINT/SIGTERM while it runs.
 * @param {Command} command
 * @param {string} input the request document
 * @param {{env: NodeJS.ProcessEnv, tl: Localizer, platform?: NodeJS.Platform}} options
 * @returns {Promise<Exit>}
 */
function runCore(command, input, { env, tl, platform = process.platform }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command.command, command.args, {
      stdio: ['pipe', 'inherit', 'inherit', 'pipe'],
      env: { ...env, [LIFELINE_VARIABLE]: String(LIFELINE_FD) },
      windowsHide: true,
    });
    /** @type {NodeJS.Timeout | undefined} */
    let resend;
    /** @type {NodeJS.Signals | null} */
    let cancelledBy = null;
    const forward = (/** @type {NodeJS.Signals} */ signal) => {
      cancelledBy = cancelledBy || signal;
      console.log(tl.loc('Cancelling', signal));
      if (platform !== 'win32') {
        child.kill(signal);
        clearInterval(resend);
        resend = setInterval(() => child.kill(signal), RESEND_MS);
      }
    };
    const signals = cancelSignals(platform);
    for (const signal of signals) {
      process.on(signal, forward);
      process.removeListener(signal, hold);
    }
    held.splice(0).forEach(forward);
    const stopForwarding = () => {
      clearInterval(resend);
      signals.forEach((signal) => process.removeListener(signal, forward));
    };
    child.on('error', (err) => {
      stopForwarding();
      reject(new Error(tl.loc('StartFailed', command.command, err.message)));
    });
    child.on('close', (code, signal) => {
      stopForwarding();
      resolve({ code, signal, cancelledBy });
    });
    // A core that exits before reading everything (e.g. on a bad interpreter) closes the pipe: its exit code counts.
    child.stdin.on('error', () => undefined);
    child.stdio[LIFELINE_FD]?.on('error', () => undefined); // nothing is sent on it: its end only says the core ended
    child.stdin.end(input, 'utf8');
  });
}

/**
 * @typedef {'Succeeded' | 'Failed' | 'Canceled'} Result the agent's names (its TaskResult enum)
 */

/**
 * The task result for the core's exit.
 * @param {Exit} exit
 * @param {Localizer} tl
 * @returns {{result: Result, message: string}}
 */
function resultOf(exit, tl) {
  // A core that fails once cancelled was stopped by the cancellation: a signal while its interpreter was still
  // starting ends Python with a KeyboardInterrupt in its start-up code, which exits 1 (it never ran anything).
  const failedWhileCancelled = exit.code !== EXIT.OK && exit.code !== EXIT.CANCELLED && exit.code !== null;
  if (exit.cancelledBy && failedWhileCancelled) {
    return { result: 'Canceled', message: tl.loc('ResultCancelledOutside', exit.cancelledBy) };
  }
  switch (exit.code) {
    case EXIT.OK:
      return { result: 'Succeeded', message: '' };
    case EXIT.FAILED:
      return { result: 'Failed', message: tl.loc('ResultFailed') };
    case EXIT.CONFIGURATION:
      return { result: 'Failed', message: tl.loc('ResultConfiguration') };
    case EXIT.INTERNAL:
      return { result: 'Failed', message: tl.loc('ResultInternal') };
    case EXIT.BUNDLE_FAILED:
      return { result: 'Failed', message: tl.loc('ResultBundleFailed') };
    case EXIT.CANCELLED:
      return { result: 'Canceled', message: tl.loc('ResultCancelled') };
    case EXIT.OUT_OF_MEMORY:
      return { result: 'Failed', message: tl.loc('ResultOutOfMemory') };
    case null:
      // Python ends by SIGINT/SIGTERM itself only outside its cancellation handling: starting up, or reporting.
      if (exit.signal && /** @type {readonly string[]} */ (POSIX_SIGNALS).includes(exit.signal)) {
        return { result: 'Canceled', message: tl.loc('ResultCancelledOutside', exit.signal) };
      }
      return { result: 'Failed', message: tl.loc('ResultKilled', exit.signal) };
    default:
      return { result: 'Failed', message: tl.loc('ResultUnexpected', exit.code) };
  }
}

/**
 * Tells the agent the step's result with `task.complete`. The agent reads `result` with a case-sensitive
 * `Enum.TryParse<TaskResult>` and fails the command on any other value (azure-pipelines-agent,
 * src/Agent.Worker/TaskCommandExtension.cs, TaskCompleteCommand; src/Agent.Worker/WorkerCommandManager.cs logs
 * "Unable to process command ... successfully" and marks the step's commands failed). Its member is `Canceled`,
 * while the task library's `TaskResult.Cancelled` is written as its enum name, "Cancelled" (azure-pipelines-task-lib,
 * node/task.ts, setResult), which the agent rejects (azure-pipelines-tasks pull request #9020 corrected the
 * logging-command docs for that reason). So a cancelled step is reported with the agent's own spelling.
 * @param {Result} result
 * @param {string} message
 * @param {{setResult(result: number, message: string): void, command(name: string, properties: object, message: string): void, TaskResult: Record<string, number>}} tl
 */
function complete(result, message, tl) {
  if (result === 'Canceled') {
    tl.command('task.complete', { result: 'Canceled' }, message);
  } else {
    tl.setResult(tl.TaskResult[result], message);
  }
}

module.exports = { holdSignals, cancelSignals, runCore, resultOf, complete, EXIT };
