"""Kept for old command lines: ``python bench/compare_rpc.py REV [--rounds N]``
is ``python bench/compare.py REV --suite rpc [--rounds N]``."""

from __future__ import annotations

import sys

from compare import main

if __name__ == "__main__":
    sys.exit(main([*sys.argv[1:], "--suite", "rpc"]))
