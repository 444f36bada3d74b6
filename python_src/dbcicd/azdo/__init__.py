"""Azure DevOps: the agent's `##vso` logging commands and the REST API (test runs, pull request comments)."""
