"""What every pc_rpc client kind shows its user, over a ClientConnection."""

from __future__ import annotations

from sipyco._bounds import DEFAULT_HANDSHAKE_TIMEOUT, check_timeout
from sipyco.errors import ConnectionClosed

from .connection import ClientConnection

__all__ = ["ClientFacade", "handshake_deadline"]


def handshake_deadline(handshake_timeout: float | None, timeout: float | None) -> float:
    """The handshake's time bound: as given, else ``timeout``, else the default."""
    check_timeout(timeout, "timeout")
    check_timeout(handshake_timeout, "handshake_timeout")
    if handshake_timeout is not None:
        return handshake_timeout
    return DEFAULT_HANDSHAKE_TIMEOUT if timeout is None else timeout


class ClientFacade:
    """The methods :class:`~sipyco.pc_rpc.Client` and
    :class:`~sipyco.pc_rpc.AsyncioClient` share; drivers supply ``_conn``,
    ``_local_host`` and ``__getattr__`` (a remote method for a public name).

    Attribute names starting with ``_`` never reach the server (servers do
    not let them be called), so the drivers' own attributes use them; each
    driver's ``__getattr__`` makes the remote method for any other name.
    """

    _conn: ClientConnection | None = None
    _local_host: str | None = None

    def _connection(self) -> ClientConnection:
        conn = self._conn
        if conn is None:
            raise ConnectionClosed("not connected")
        return conn

    def get_selected_target(self) -> str | None:
        """The selected target's name, or None."""
        return None if self._conn is None else self._conn.target

    def get_rpc_id(self) -> tuple[list[str], str | None]:
        """``(target_names, description)`` as the server announced them."""
        ident = self._connection().identification
        if ident is None:
            raise ConnectionClosed("not connected")
        return list(ident.targets), ident.description

    def get_rpc_method_names(self) -> frozenset[str] | None:
        """The method names the server listed when the target was selected
        (None: no target selected, or the server sent no list).  These are
        the names that exist as attributes.  Not in upstream's API."""
        conn = self._conn
        return None if conn is None else conn.methods

    def get_local_host(self) -> str:
        """The address of this end of the connection (as the server sees it)."""
        conn = self._connection()
        if conn.closed:
            raise ConnectionClosed(f"connection is closed ({conn.closed_because})")
        return self._local_host
