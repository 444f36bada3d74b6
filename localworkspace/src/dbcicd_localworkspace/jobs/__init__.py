"""The local workspace's Jobs service: request specs, the run model, the run engine and task processes."""
