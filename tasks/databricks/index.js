// @ts-check
'use strict';
/**
 * The Databricks@1 task: reads what the agent hands over, finds Python, prepares the core from the wheels shipped
 * with the task, and runs `python -m dbcicd task` with the request document on stdin. The core does the work and
 * talks to the agent itself (logging commands); this file turns its exit code into the task result.
 */
const { complete, holdSignals, runCore, resultOf } = require('./child');

holdSignals(); // first of all: loading the task library takes a while, and a cancel meanwhile must not be fatal
const path = require('path');
const tl = require('azure-pipelines-task-lib/task');
const { cacheFolderOf, coreCommand, prepareCore } = require('./core');
const { loadManifest, taskJsonPath, taskVersion } = require('./manifest');
const { findPython } = require('./python');
const { readRequest } = require('./request');

async function run() {
  const manifestPath = taskJsonPath();
  tl.setResourcePath(manifestPath);
  try {
    const manifest = loadManifest(manifestPath);
    const { document, notices } = readRequest(tl, manifest, process.env, (secret) => tl.setSecret(secret));
    notices.forEach((notice) => console.log(notice));
    const python = findPython(document.inputs.pythonPath || '', tl);
    console.log(tl.loc('PythonFound', python.version.join('.'), python.command));
    const site = prepareCore(python, {
      cacheFolder: cacheFolderOf(tl.getVariable('Agent.ToolsDirectory')),
      taskVersion: taskVersion(manifest),
      tl,
    });
    const jobTemp = tl.getVariable('Agent.TempDirectory');
    const command = coreCommand(python, site, jobTemp && path.join(jobTemp, 'dbcicd-pycache'));
    const exit = await runCore(command, JSON.stringify(document), { env: process.env, tl });
    const { result, message } = resultOf(exit, tl);
    complete(result, message, tl);
  } catch (err) {
    tl.setResult(tl.TaskResult.Failed, /** @type {Error} */ (err).message);
  }
}

run();
