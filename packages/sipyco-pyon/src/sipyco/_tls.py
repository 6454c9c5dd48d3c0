"""Where the connection points meet ``ssl_config`` (a
:class:`~sipyco.tools.SimpleSSLConfig`, as upstream 1.10 spells it).

Every server start and client connect takes the parameter at upstream's
position, so code written for 1.10 runs unchanged.  Mutual TLS itself is not
wired in yet: a non-None ``ssl_config`` is refused here, in one place, until
it is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["require_plain_tcp"]


def require_plain_tcp(ssl_config: Any) -> None:
    """NotImplementedError unless ``ssl_config`` is None."""
    if ssl_config is not None:
        raise NotImplementedError(
            "ssl_config: mutual TLS is not available in this release yet; "
            "pass ssl_config=None (plain TCP)")
