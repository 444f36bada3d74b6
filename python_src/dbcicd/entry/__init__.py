"""The two ways in: the `dbcicd` command line and `python -m dbcicd task` (the pipeline task's Python side)."""
