// The mock-run scenario of the entry point's tests: the task in DBCICD_TASK_DIR (a folder laid out as in the VSIX)
// runs with the mock task library; inputs, connections and variables come from the environment, as the agent
// provides them (see helpers.js).
'use strict';
const path = require('path');
const { TaskMockRunner } = require('azure-pipelines-task-lib/mock-run');

new TaskMockRunner(path.join(process.env.DBCICD_TASK_DIR, 'index.js')).run();
