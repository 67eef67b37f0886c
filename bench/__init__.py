"""The benchmark harness of issue 6: ``python -m bench`` (``make bench``).

Nothing here is imported by the test suite; the target apps under
``bench/targets/`` import only what their own venv has, so this package
stays stdlib-only at import time.
"""
