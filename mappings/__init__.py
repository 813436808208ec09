"""The default mapping files and lookup tables; copy them to start your own.

This folder is also installed inside the package as ``integration.defaults`` (see setup.cfg), which
the built-in demo reads with ``importlib.resources``; this file only makes it importable there.
"""
