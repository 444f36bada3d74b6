"""Offline stand-ins for programs the product runs on the user's machine, for tests only.

`databricks_cli.py` models the Databricks CLI's documented bundle interface against the local workspace: the real
CLI is licensed for use with the Databricks Services only, so the suite never runs it there.
"""
