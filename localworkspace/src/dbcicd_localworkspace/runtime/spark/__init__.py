"""Spark on the local workspace: a Spark Connect server per cluster (servers.py), Unity Catalog names on Spark's
catalog (catalog.py, sql_text.py), and what a notebook's `spark` adds to the Spark Connect client (notebook.py)."""
