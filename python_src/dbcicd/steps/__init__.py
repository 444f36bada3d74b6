"""The commands — repo, run, test, cleanup — and their machinery: Git folders, runs, waiting, teardown."""
