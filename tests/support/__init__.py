"""Helpers shared by the tests and the benchmarks; not part of the installed packages.

* :mod:`support.synthetic` — hand-written synthetic petitions and fast bulk loaders of cases
* :mod:`support.api_env` — throw-away databases, a triager with its own duplicate index, test users
  with tokens, and a running test app (``running_app`` / ``ApiEnv``)

Imported as the top-level package ``support``: pytest puts ``tests/`` on ``sys.path`` (the root
``conftest.py`` lives there), and the scripts in ``bench/`` insert ``tests/`` themselves.
"""
