"""Code that runs inside notebook subprocesses (stdlib only, importable without the rest of dbcicd)."""
