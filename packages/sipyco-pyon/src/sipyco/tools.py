"""The asyncio helpers under the name sipyco 1.10 gave them.

The same objects as :mod:`sipyco.asyncio_tools` (the 1.8 name), shipped in
the same distribution; neither name warns on import (see that module for
why).  ``__all__`` is that module's.
"""

from sipyco import asyncio_tools as _asyncio_tools
from sipyco.asyncio_tools import *  # noqa: F403 - re-exported as they are

__all__: list[str] = []
__all__ += _asyncio_tools.__all__
