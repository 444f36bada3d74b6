"""The local workspace's HTTP face: the server, routing, requests, Databricks-shaped errors, faults, paging."""
