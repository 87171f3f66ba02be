"""losskit benchmark harness.

Run ``python -m bench`` from the repository root (or ``losskit bench``, which
calls :func:`main`). ``python -m bench --help`` lists the options; see
bench/README.md for what is measured and how.

losskit, PyTorch and the C compiler are optional: whatever is missing is
reported and skipped, so the harness also runs before losskit is built.
"""

from .run import main

__all__ = ["main"]
