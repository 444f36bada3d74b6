"""Code that runs inside notebook subprocesses: the notebook kernel (kernel.py is its entry point).

Standard library only, and relative imports only: the kernel loads this folder as a private package, so it starts
fast and without the rest of dbcicd, while the server imports notebook_files from here under its usual name.
"""
