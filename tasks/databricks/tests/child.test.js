// How the core's exit becomes the task result.
'use strict';
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const taskLib = require('azure-pipelines-task-lib/task');
const { cancelSignals, complete, resultOf } = require('../child');

const tl = { loc: (key, ...args) => [key, ...args].join(' ') };

describe('resultOf', () => {
  for (const [exit, expected] of [
    [
      { code: 0, signal: null },
      { result: 'Succeeded', message: '' },
    ],
    [
      { code: 1, signal: null },
      { result: 'Failed', message: 'ResultFailed' },
    ],
    [
      { code: 2, signal: null },
      { result: 'Failed', message: 'ResultConfiguration' },
    ],
    [
      { code: 3, signal: null },
      { result: 'Failed', message: 'ResultInternal' },
    ],
    [
      { code: 130, signal: null },
      { result: 'Canceled', message: 'ResultCancelled' },
    ],
    [
      { code: 137, signal: null },
      { result: 'Failed', message: 'ResultOutOfMemory' },
    ],
    [
      { code: null, signal: 'SIGKILL' },
      { result: 'Failed', message: 'ResultKilled SIGKILL' },
    ],
    [
      { code: null, signal: 'SIGINT' },
      { result: 'Canceled', message: 'ResultCancelledOutside SIGINT' },
    ],
    [
      { code: null, signal: 'SIGTERM' },
      { result: 'Canceled', message: 'ResultCancelledOutside SIGTERM' },
    ],
    [
      { code: 4, signal: null },
      { result: 'Failed', message: 'ResultBundleFailed' },
    ],
    [
      { code: 5, signal: null },
      { result: 'Failed', message: 'ResultUnexpected 5' },
    ],
    [
      { code: 1, signal: null, cancelledBy: 'SIGINT' },
      { result: 'Canceled', message: 'ResultCancelledOutside SIGINT' },
    ],
    [
      { code: 0, signal: null, cancelledBy: 'SIGINT' },
      { result: 'Succeeded', message: '' },
    ],
    [
      { code: 130, signal: null, cancelledBy: 'SIGTERM' },
      { result: 'Canceled', message: 'ResultCancelled' },
    ],
  ]) {
    it(`maps ${JSON.stringify(exit)} to ${expected.result}`, () => {
      assert.deepEqual(resultOf(exit, tl), expected);
    });
  }
});

describe('complete', () => {
  const recorder = () => {
    const sent = /** @type {any[]} */ ([]);
    return {
      sent,
      TaskResult: taskLib.TaskResult,
      setResult: (/** @type {number} */ result, /** @type {string} */ message) =>
        sent.push({ result: taskLib.TaskResult[result], message }),
      command: (/** @type {string} */ name, /** @type {any} */ properties, /** @type {string} */ message) =>
        sent.push({ name, ...properties, message }),
    };
  };

  it("writes a cancelled step as the agent's TaskResult member Canceled", () => {
    const tl = recorder();
    complete('Canceled', 'stopped', tl);
    assert.deepEqual(tl.sent, [{ name: 'task.complete', result: 'Canceled', message: 'stopped' }]);
  });

  it("does not use the task library's TaskResult.Cancelled, whose name the agent does not know", () => {
    assert.equal(taskLib.TaskResult[taskLib.TaskResult.Cancelled], 'Cancelled');
  });

  for (const result of /** @type {const} */ (['Succeeded', 'Failed'])) {
    it(`passes ${result} to the task library's setResult`, () => {
      const tl = recorder();
      complete(result, 'm', tl);
      assert.deepEqual(tl.sent, [{ result, message: 'm' }]);
    });
  }
});

describe('cancel signals', () => {
  it("holds Node's SIGBREAK on Windows, where the agent's CTRL_BREAK would otherwise end the task at once", () => {
    // azure-pipelines-agent, src/Agent.Sdk/ProcessInvoker.Windows.cs: CTRL_C, then CTRL_BREAK, then the tree killed.
    assert.deepEqual(cancelSignals('win32'), ['SIGINT', 'SIGTERM', 'SIGBREAK']);
    assert.deepEqual(cancelSignals('linux'), ['SIGINT', 'SIGTERM']);
    assert.deepEqual(cancelSignals('darwin'), ['SIGINT', 'SIGTERM']);
  });

  it('notes a CTRL_BREAK on Windows as a cancellation without killing the core, which gets it from the console', async () => {
    const { runCore } = require('../child');
    const script = "process.stdin.resume(); setTimeout(() => process.exit(130), 300); console.log('');";
    const before = process.listenerCount('SIGBREAK');
    const running = runCore({ command: process.execPath, args: ['-e', script] }, '', {
      env: process.env,
      tl,
      platform: 'win32',
    });
    assert.equal(process.listenerCount('SIGBREAK'), before + 1);
    process.emit('SIGBREAK', 'SIGBREAK');
    const exit = await running;
    assert.deepEqual(exit, { code: 130, signal: null, cancelledBy: 'SIGBREAK' });
    assert.equal(process.listenerCount('SIGBREAK'), before);
    assert.deepEqual(resultOf(exit, tl), { result: 'Canceled', message: 'ResultCancelled' });
  });
});
