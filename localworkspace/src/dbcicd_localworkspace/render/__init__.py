"""HTML of runs, written once for every reader: the self-contained notebook page runs/export answers, and the run
pages the local workspace serves to browsers (http/pages.py). Everything a notebook produced is escaped."""
