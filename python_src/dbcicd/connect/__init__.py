"""Signing in and talking to the workspace: credentials, workload identity, naming API calls, explaining refusals."""
