// How the core's exit becomes the task result.
'use strict';
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { resultOf } = require('../child');

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
      { code: 130, signal: null },
      { result: 'Cancelled', message: 'ResultCancelled' },
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
      { result: 'Cancelled', message: 'ResultCancelledOutside SIGINT' },
    ],
    [
      { code: null, signal: 'SIGTERM' },
      { result: 'Cancelled', message: 'ResultCancelledOutside SIGTERM' },
    ],
    [
      { code: 3, signal: null },
      { result: 'Failed', message: 'ResultUnexpected 3' },
    ],
    [
      { code: 1, signal: null, cancelledBy: 'SIGINT' },
      { result: 'Cancelled', message: 'ResultCancelledOutside SIGINT' },
    ],
    [
      { code: 0, signal: null, cancelledBy: 'SIGINT' },
      { result: 'Succeeded', message: '' },
    ],
    [
      { code: 130, signal: null, cancelledBy: 'SIGTERM' },
      { result: 'Cancelled', message: 'ResultCancelled' },
    ],
  ]) {
    it(`maps ${JSON.stringify(exit)} to ${expected.result}`, () => {
      assert.deepEqual(resultOf(exit, tl), expected);
    });
  }
});
