"""Remote logging under the name sipyco 1.10 gave it.

The same objects as :mod:`sipyco.logging_tools` (the 1.8 name), shipped in
the same distribution.  Importing either name never warns: sipyco 1.10
makes the old name emit a DeprecationWarning, which fails test suites of
1.8-era code run with ``-W error``; here both names are first-class.
``__all__`` is that module's.
"""

from sipyco import logging_tools as _logging_tools
from sipyco.logging_tools import *  # noqa: F403 - re-exported as they are

__all__: list[str] = []
__all__ += _logging_tools.__all__
