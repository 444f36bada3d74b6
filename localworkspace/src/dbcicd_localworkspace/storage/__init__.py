"""The local workspace's state on disk: the workspace tree, Git checkouts, the Git folder registry, notebook forms."""
