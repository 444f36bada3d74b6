"""The local workspace's REST services besides Jobs: identity and compute, OAuth, Repos, Workspace, Files, DBFS."""
