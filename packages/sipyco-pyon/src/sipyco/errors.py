"""The one exception hierarchy shared by every SiPyCo distribution.

Everything this library raises on its own account derives from
:class:`SipycoError`.  Each concrete class also derives from the builtin
exception that code written for upstream sipyco already catches in that
situation (``ValueError`` for undecodable text, ``TypeError`` for values that
cannot be encoded, and so on), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "SipycoError",
    "PyonError",
    "EncodeError",
    "DecodeError",
    "RPCError",
    "TransportError",
    "RPCTransportError",
    "ServerUnreachable",
    "ConnectionClosed",
    "CallTimeout",
    "ProtocolViolation",
    "MessageTooLarge",
    "IncompatibleServer",
    "GenericRemoteException",
]


class SipycoError(Exception):
    """Root of every exception raised by SiPyCo itself."""


class PyonError(SipycoError):
    """A value or a text could not be converted by the PYON codec."""


class EncodeError(PyonError, TypeError):
    """A value cannot be written as PYON.

    ``path`` locates the offending value inside the structure handed to the
    encoder, written as Python indexing on ``x`` (for example ``x["a"][2]``);
    ``type_name`` is the qualified name of its type.
    """

    def __init__(self, reason: str, path: str = "x", type_name: str | None = None):
        self.reason = reason
        self.path = path
        self.type_name = type_name
        super().__init__(f"{reason} (at {path})")


class DecodeError(PyonError, ValueError):
    """A text is not valid PYON, or asks for something PYON refuses to build.

    ``offset`` is the 0-based character offset in the text where the problem
    was found, or ``None`` when it cannot be tied to one place.
    """

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at offset {offset}"
        super().__init__(f"{reason}{where}")


class RPCError(SipycoError):
    """Base of everything :mod:`sipyco.pc_rpc` raises on its own account."""


class TransportError(SipycoError):
    """The connection itself failed (pc_rpc, sync_struct, logging): nothing
    here came from a remote method.  After one of these the connection is
    closed, because a line protocol that lost its place can never be trusted
    again."""


#: The same class, under the name the pc_rpc documentation uses.
RPCTransportError = TransportError


class ServerUnreachable(TransportError, ConnectionRefusedError):
    """Nobody accepted the TCP connection."""


class ConnectionClosed(TransportError, EOFError):
    """The peer closed the connection (or it was closed after an earlier
    failure) before the reply arrived."""


class CallTimeout(TransportError, TimeoutError):
    """No reply within the client's timeout; the connection has been closed
    so that a late reply can never be taken for another call's."""


class ProtocolViolation(TransportError, ValueError):
    """The peer sent something the protocol does not allow."""


class MessageTooLarge(RPCError, ValueError):
    """A message is longer than ``max_message_size``; ``limit`` and ``size``
    give the two numbers (``size`` may be a lower bound)."""

    def __init__(self, message: str, limit: int, size: int):
        super().__init__(message)
        self.limit = limit
        self.size = size


class IncompatibleServer(RPCError):
    """The server does not offer the requested target (or, with
    ``AutoTarget``, does not offer exactly one)."""


class GenericRemoteException(RPCError):
    """A remote method raised an exception that is not a builtin one; the
    message reads ``module.Class: text``.  The remote traceback lines are in
    ``parent_traceback``."""
