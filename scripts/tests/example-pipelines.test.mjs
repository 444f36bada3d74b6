// The example pipelines as Azure DevOps runs them, beyond what the schema can say: a job ends at its own timeout
// (60 minutes unless `timeoutInMinutes` says otherwise: learn.microsoft.com, azure/devops/pipelines/process/phases,
// "Timeouts"), whatever the steps' timeouts; a deployment job checks nothing out (process/deployment-jobs), so a
// step that points a Git folder at the build's repository names it with `gitUrl`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { ROOT } from './files.mjs';

const EXAMPLES = ['examples/lending-club/azure-pipelines.yml'];
const DEFAULT_JOB_TIMEOUT_MINUTES = 60;
const TASK_DEFAULT_TIMEOUT_MINUTES = 60; // task.json, input timeoutMinutes
/** Commands that make or move a Git folder of the build's repository (the others use an existing one). */
const GIT_COMMANDS = new Set(['test', 'repo']);

/** Every job of a pipeline, with its kind and steps (a deployment's strategy steps included). */
function* jobsOf(pipeline) {
  const stages = pipeline.stages || [{ jobs: pipeline.jobs || [] }];
  for (const stage of stages) {
    for (const job of stage.jobs || []) {
      const steps = job.steps || Object.values(job.strategy?.runOnce || {}).flatMap((hook) => hook.steps || []);
      yield { name: job.job || job.deployment, deployment: 'deployment' in job, job, steps };
    }
  }
}

const databricksSteps = (steps) => steps.filter((step) => /(^|\.)Databricks@1$/.test(step.task || ''));

for (const file of EXAMPLES) {
  const pipeline = YAML.parse(readFileSync(join(ROOT, file), 'utf8'));
  describe(file, () => {
    for (const { name, deployment, job, steps } of jobsOf(pipeline)) {
      it(`job ${name}: its timeout outlasts the Databricks runs it waits for`, () => {
        const jobTimeout = Number(job.timeoutInMinutes ?? DEFAULT_JOB_TIMEOUT_MINUTES);
        const runs = databricksSteps(steps)
          .filter((step) => ['test', 'run'].includes(step.inputs.command || 'test'))
          .map((step) => Number(step.inputs.timeoutMinutes ?? TASK_DEFAULT_TIMEOUT_MINUTES));
        const total = runs.reduce((sum, minutes) => sum + minutes, 0);
        assert.ok(total < jobTimeout, `${name}: runs of up to ${total} minutes in a job of ${jobTimeout}`);
      });
      if (deployment) {
        it(`deployment ${name}: names the repository, as a deployment job checks nothing out`, () => {
          for (const step of databricksSteps(steps)) {
            if (GIT_COMMANDS.has(step.inputs.command || 'test')) {
              assert.ok(step.inputs.gitUrl, `${step.displayName}: no gitUrl in a deployment job`);
            }
          }
        });
      }
    }
    it('says that pull requests from forks get no service connections or secrets', () => {
      assert.match(readFileSync(join(ROOT, file), 'utf8'), /pull request from a fork gets no secrets/);
    });
  });
}
