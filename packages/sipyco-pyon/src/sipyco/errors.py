"""The one exception hierarchy shared by every SiPyCo distribution.

Everything this library raises on its own account derives from
:class:`SipycoError`.  Each concrete class also derives from the builtin
exception that code written for upstream sipyco already catches in that
situation (``ValueError`` for undecodable text, ``TypeError`` for values that
cannot be encoded, ``EOFError`` for a connection that ended, and so on), so
existing ``except`` clauses keep working.

Three kinds of trouble are kept apart:

* **the caller's own mistakes** (a bad argument, a call before a target is
  selected) are plain ``ValueError``/``TypeError``/``RuntimeError``, raised
  at once and locally, before anything is sent;
* **the peer's faults** are :class:`TransportError` (the connection failed,
  timed out, or the peer broke the protocol) or :class:`MessageTooLarge`;
* **a remote method's own exception** is a :class:`RemoteError`: the same
  builtin class the method raised (``ValueError``...), or
  :class:`GenericRemoteException`, with the remote traceback lines in
  ``parent_traceback``.
"""

from __future__ import annotations

import builtins
import copy
import ssl
import sys

__all__ = [
    "SipycoError",
    "PyonError",
    "EncodeError",
    "DecodeError",
    "NestingTooDeep",
    "TooManyItems",
    "JsonClassError",
    "UnknownJsonClass",
    "AlreadyRegistered",
    "NotRegistered",
    "MessageTooLarge",
    "RPCError",
    "TransportError",
    "RPCTransportError",
    "ServerUnreachable",
    "ConnectionClosed",
    "PeerGone",
    "CallTimeout",
    "HandshakeTimeout",
    "ProtocolViolation",
    "TLSError",
    "IncompatibleServer",
    "RemoteError",
    "GenericRemoteException",
    "remote_error",
]


class SipycoError(Exception):
    """Root of every exception raised by SiPyCo itself."""


# ------------------------------------------------------------------ codec ---

class PyonError(SipycoError):
    """A value or a text could not be converted by the PYON codec."""


class EncodeError(PyonError, TypeError):
    """A value cannot be written as PYON.

    ``path`` locates the offending value inside the structure handed to the
    encoder, written as Python indexing on ``x`` (for example ``x["a"][2]``);
    ``type_name`` is the qualified name of its type.  The constructor takes
    ``reason`` (what is wrong, without the place), ``path`` (default
    ``"x"``, the whole value) and ``type_name`` (default ``None``); the
    message is ``reason`` followed by ``(at PATH)``.
    """

    #: The value as the user's code names it (``argument 1 of f()``,
    #: ``status["bad"]``...), once a protocol has said (see :meth:`naming`).
    subject: str | None = None

    def __init__(self, reason: str, path: str = "x", type_name: str | None = None):
        self.reason = reason
        self.path = path
        self.type_name = type_name
        super().__init__(f"{reason} (at {path})")

    def naming(self, subject: str) -> EncodeError:
        """This error as the user would put it: a copy (same class, same other
        attributes) whose message starts with ``subject`` instead of ending
        with the encoder's path, names the value's type, and says how to
        send an application class (register it with :func:`sipyco.pyon.register`)."""
        named = copy.copy(self)
        named.subject = subject
        type_name = self.type_name
        text = f"{subject}: {self.reason}"
        if type_name and type_name not in self.reason:
            text = f"{subject}, a value of type {type_name}: {self.reason}"
        cls_name = _application_class(type_name) \
            if self.reason == f"cannot encode a value of type {type_name}" else None
        if cls_name is not None:
            text += (f" (a value of class {cls_name}: to send it, register it on both ends "
                     "with sipyco.pyon.register, see the pyon README)")
        named.args = (text,)
        return named


def _application_class(type_name: str | None) -> str | None:
    """The class name when ``type_name`` (``module.qualname``) names a class
    an application defined in Python (one ``sipyco.pyon.register`` is made
    for), not a builtin or extension type; else None."""
    if not type_name or "." not in type_name:
        return None  # a builtin: object, function, module...
    short = type_name.rsplit(".", 1)[1]
    if "<locals>" in type_name:
        return short  # defined in a function: Python code
    parts = type_name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None:
            continue
        found: object = module
        for part in parts[i:]:
            found = getattr(found, part, None)
        if not isinstance(found, type):
            return None
        if parts[0] == "numpy" or not found.__flags__ & (1 << 9):  # Py_TPFLAGS_HEAPTYPE
            return None
        return short
    return short  # its module is not even loaded here: not a builtin


class DecodeError(PyonError, ValueError):
    """A text is not valid PYON, or asks for something PYON refuses to build.

    ``offset`` is the 0-based character offset in the text where the problem
    was found, or ``None`` when it cannot be tied to one place.  The
    constructor takes ``reason`` (what is wrong) and ``offset`` (default
    ``None``); the message is ``reason``, followed by ``at offset N`` when
    ``offset`` is given.
    """

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at offset {offset}"
        super().__init__(f"{reason}{where}")

    def moved_to(self, offset: int | None) -> DecodeError:
        """This error as found at ``offset`` of a larger text (a piece of
        it read alone names its own offsets): a copy, of the same class and
        with the same other attributes."""
        moved = copy.copy(self)
        moved.offset = offset
        moved.args = (self.reason if offset is None else f"{self.reason} at offset {offset}",)
        return moved


class JsonClassError(DecodeError, KeyError):
    """A PYON v2 ``{"__jsonclass__": ...}`` object is malformed (not exactly
    ``{"__jsonclass__": [NAME, [ARGS...]]}``) or names nothing known.

    Also a ``KeyError``: a JSON reader that looks the name up in a table (as
    sipyco 1.10's evidently does) fails with one, while this library's
    refusals are ``ValueError``; code written for either catches this.
    ``str()`` is the plain message (not ``KeyError``'s quoted form).
    """

    def __str__(self) -> str:
        return BaseException.__str__(self)


class NestingTooDeep(DecodeError):
    """A text nests containers deeper than the reader's ``max_depth``
    (``limit``).  A limit of this reader, not a defect of the text: a peer
    may have written it legitimately, so protocols answer it like an
    over-long message (that one exchange fails, the connection stays).

    ``reason`` and ``offset`` (default ``None``) are as for
    :class:`DecodeError`; ``limit`` (default ``None``) is the ``max_depth``
    that was exceeded."""

    def __init__(self, reason: str, offset: int | None = None, limit: int | None = None):
        super().__init__(reason, offset)
        self.limit = limit


class TooManyItems(DecodeError):
    """A text holds more values than the reader's ``max_items`` (``limit``);
    ``count`` is how many it may hold.  Refused before anything is built.
    ``reason`` is the message; ``limit`` and ``count`` are keyword-only and
    default to ``None``."""

    def __init__(self, reason: str, *, limit: int | None = None, count: int | None = None):
        super().__init__(reason)
        self.limit = limit
        self.count = count


class UnknownJsonClass(JsonClassError):
    """A ``__jsonclass__`` object names a type that is neither PYON's own nor
    registered."""


class AlreadyRegistered(PyonError, ValueError, AssertionError):
    """:func:`sipyco.pyon.register` refused a type or a name that is already
    taken (or reserved by PYON itself).

    A ``ValueError`` (what this library has always raised) and an
    ``AssertionError`` (what sipyco 1.10 raises), so code for either catches it.
    """


class NotRegistered(PyonError, KeyError):
    """:func:`sipyco.pyon.deregister` / ``unregister`` was given a type or a
    name that is not registered.  ``str()`` is the plain message."""

    def __str__(self) -> str:
        return BaseException.__str__(self)


# ----------------------------------------------------------------- limits ---

class MessageTooLarge(SipycoError, ValueError):
    """A message (one line of any SiPyCo protocol) is longer than a limit.

    ``what`` says which message (``"reply"``, ``"request"``, ``"mod"``...),
    ``size`` its length in bytes (a lower bound when ``at_least``),
    ``limit`` the limit's value and ``limit_name`` the parameter that sets it
    (default ``"max_message_size"``).  ``whose`` (keyword-only, default
    ``""``) names the side whose limit it is, e.g. ``"the server's"``; the
    message then tells the reader to give that side a larger limit.
    ``at_least`` defaults to false.  Raised by the side that refuses the
    message; for pc_rpc the connection stays usable (the over-long line was
    read and thrown away).
    """

    def __init__(self, what: str, size: int, limit: int, *,
                 limit_name: str = "max_message_size", at_least: bool = False,
                 whose: str = ""):
        self.what = what
        self.size = size
        self.limit = limit
        self.limit_name = limit_name
        qualifier = "at least " if at_least else ""
        owner = f"{whose} " if whose else ""
        if whose:
            holder = whose[:-2] if whose.endswith("'s") else whose  # the server's -> the server
            hint = f"to allow it, give {holder} a larger {limit_name}="
        else:
            hint = f"to allow it, pass a larger {limit_name}= where this side was made"
        if limit_name == "max_message_size":
            hint += " (Server, Client, simple_server_loop... all take it)"
        super().__init__(f"{what} of {qualifier}{size} bytes exceeds {owner}"
                         f"{limit_name}={limit}; {hint}")


# -------------------------------------------------------------- transport ---

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
    failure) before the expected message arrived."""


class PeerGone(ConnectionClosed, BrokenPipeError, ConnectionResetError):
    """Writing failed because the peer closed its end (pipe_ipc): also the
    ``BrokenPipeError`` and ``ConnectionResetError`` upstream code catches."""


class CallTimeout(TransportError, TimeoutError):
    """No reply within the client's timeout; the connection has been closed
    so that a late reply can never be taken for another call's."""


class HandshakeTimeout(CallTimeout):
    """The peer did not complete the protocol's opening exchange within
    ``handshake_timeout`` seconds; the connection has been closed.

    ``what`` names the exchange that timed out (the message starts with it);
    ``limit`` is the timeout in seconds, kept as the ``limit`` attribute."""

    def __init__(self, what: str, limit: float):
        self.limit = limit
        super().__init__(f"{what} timed out (handshake_timeout={limit:g} s)")


class ProtocolViolation(TransportError, ValueError):
    """The peer sent something the protocol does not allow."""


class TLSError(TransportError, ssl.SSLError, ConnectionError):
    """A mutual-TLS connection could not be made: the peer's certificate is
    not trusted, the peer did not accept this side's, or it does not speak
    TLS.  The message names the reason.  Also the ``ssl.SSLError`` (and the
    ``ConnectionError``) code written for upstream 1.10 catches."""

    def __str__(self) -> str:
        return BaseException.__str__(self)


# -------------------------------------------------------------------- RPC ---

class RPCError(SipycoError):
    """Base of the pc_rpc errors that are not transport failures."""


class IncompatibleServer(RPCError):
    """A fact about the server rules out what the client asked for: it does
    not offer the requested target (or, with ``AutoTarget``, does not offer
    exactly one)."""


class RemoteError(RPCError):
    """Base of every exception re-raised from a remote method.

    A remote builtin exception arrives as a class deriving from both this
    and that builtin (``except ValueError`` catches a remote ValueError);
    any other class arrives as :class:`GenericRemoteException`.
    ``remote_class`` is the class name the server reported and
    ``parent_traceback`` the remote traceback lines.
    """

    remote_class = "GenericRemoteException"
    parent_traceback: list[str] = []


class GenericRemoteException(RemoteError):
    """A remote method raised an exception that is not a builtin one; the
    message reads ``module.Class: text``.  The remote traceback lines are in
    ``parent_traceback``."""


_remote_classes: dict[type, type] = {}


def _remote_class(builtin: type) -> type:
    cls = _remote_classes.get(builtin)
    if cls is None:
        name = "Remote" + builtin.__name__
        cls = type(name, (RemoteError, builtin), {
            "__module__": __name__,
            "__doc__": f"A {builtin.__name__} raised by a remote method.",
            "remote_class": builtin.__name__,
        })
        _remote_classes[builtin] = cls
    return cls


def remote_error(class_name: object, message: str, traceback_lines: list[str]) -> RemoteError:
    """The exception to raise for a remote method's failure.

    ``class_name`` names a builtin exception class (then the result is an
    instance of it) or anything else (then a GenericRemoteException whose
    message starts with that name).  Only ``Exception`` subclasses are ever
    built: a peer cannot make this process raise ``SystemExit`` or
    ``KeyboardInterrupt``.  ``message`` is the remote exception's text and
    ``traceback_lines`` (a list of str) the remote traceback, stored as the
    result's ``parent_traceback``.  Returns the exception; never raises it.
    """
    builtin = getattr(builtins, class_name, None) if isinstance(class_name, str) else None
    exc: RemoteError | None = None
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            exc = _remote_class(builtin)(message)
        except Exception:  # noqa: BLE001 - e.g. UnicodeError needs five arguments
            exc = None
    if exc is None:
        if class_name not in (None, "GenericRemoteException"):
            message = f"{class_name}: {message}"
        exc = GenericRemoteException(message)
    exc.parent_traceback = traceback_lines
    return exc


def __getattr__(name: str):
    # ``RemoteValueError`` and friends are made on first use; naming them
    # here lets pickle (and anyone else) find them by module and name.
    if name.startswith("Remote"):
        builtin = getattr(builtins, name[6:], None)
        if isinstance(builtin, type) and issubclass(builtin, Exception):
            return _remote_class(builtin)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
