"""Running code inside a controller, next to its driver.

**This executes arbitrary code sent by clients, by design.**  Anyone who can
reach a remote-execution server can do anything its process can.  Servers
made by :func:`simple_rexec_server_loop` listen on localhost only unless told
otherwise; expose them only to trusted machines.

A controller with remote execution serves its driver as ``NAME`` and, as
``NAME_rexec``, a factory making one :class:`RemoteExecServer` per
connection: a private namespace where the client can define code
(:meth:`~RemoteExecServer.add_code`) and call it
(:meth:`~RemoteExecServer.call`), so bulky data can be processed where it
lives and only results cross the network.  Every namespace starts with
``controller_driver`` (the driver), ``controller_initial_namespace`` (a dict
shared by all connections) and everything already in that dict.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

from sipyco.pc_rpc import simple_server_loop

__all__ = ["RemoteExecServer", "simple_rexec_server_loop", "connect_global_rpc"]

logger = logging.getLogger(__name__)


class RemoteExecServer:
    """One connection's namespace (see the module documentation).

    The namespace starts as a shallow copy of ``initial_namespace`` (a dict
    of name -> value): names a client defines stay in its own namespace,
    while the values themselves, such as a shared dict, are the same objects.
    """

    def __init__(self, initial_namespace: dict):
        self.namespace = dict(initial_namespace)

    def add_code(self, code: str) -> None:
        """Execute ``code`` (Python source) in the namespace."""
        exec(code, self.namespace)  # remote execution is this class's purpose

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call the namespace's function ``function`` and return its result."""
        return self.namespace[function](*args, **kwargs)


def simple_rexec_server_loop(target_name: str, target: Any, host, port: int,
                             description: str | None = None, ssl_config: Any = None) -> None:
    """Serve ``target`` as ``target_name`` and remote execution as
    ``target_name + "_rexec"`` until Ctrl-C, SIGTERM or ``terminate()``.
    Served beyond localhost without ``ssl_config``, it first logs one
    prominent WARNING that anyone reaching it can run arbitrary code, and
    how to add TLS.

    ``host`` is an address or a list of them (None: every interface) and
    ``port`` the TCP port, as for :func:`~sipyco.pc_rpc.simple_server_loop`;
    a port that cannot be listened on ends the program with one line naming
    it.  ``description`` (default None) is the free text sent to clients
    with the target names.  A ``target_name`` that is empty or contains
    whitespace raises ``ValueError``."""
    _warn_if_exposed(target_name, host, ssl_config)
    initial_namespace: dict = {"controller_driver": target}
    initial_namespace["controller_initial_namespace"] = initial_namespace

    def new_namespace() -> RemoteExecServer:
        return RemoteExecServer(initial_namespace)

    simple_server_loop({target_name: target, target_name + "_rexec": new_namespace},
                       host, port, description, ssl_config=ssl_config)


def _warn_if_exposed(target_name: str, host, ssl_config: Any) -> bool:
    """Log one prominent WARNING when a remote-execution server is about to
    listen beyond this machine (``host`` None, a non-loopback address, or a
    name that does not resolve to loopback addresses only) without
    ``ssl_config``.  Returns whether it warned.  Listening is not refused:
    labs run such servers today behind network controls of their own."""
    if ssl_config is not None:
        return False
    exposed = [h for h in _hosts(host) if not _loopback_only(h)]
    if not exposed:
        return False
    where = "every interface" if host is None else ", ".join(map(str, exposed))
    logger.warning(
        "\n*** SECURITY WARNING ***\n"
        "Remote execution (target %r) is served on %s without TLS: anyone who can "
        "reach this port can run arbitrary code in this process.\n"
        "Serve it on localhost only, or require mutual TLS: pass "
        "ssl_config=SimpleSSLConfig(CERT, KEY, PEER_CERT) to simple_rexec_server_loop, "
        "or give --ssl CERT KEY PEER_CERT to a controller whose command line offers it. "
        "See SECURITY.md.",
        target_name + "_rexec", where)
    return True


def _hosts(host) -> list:
    if host is None:
        return [None]
    if isinstance(host, str):
        return [host]
    return list(host)


def _loopback_only(host) -> bool:
    """Whether ``host`` (an address or a name) means this machine only."""
    if host is None or host == "":
        return False  # every interface
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False  # cannot tell: warn
    try:
        return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback
                                   for info in infos)
    except ValueError:
        return False


_GLOBAL_RPC = """
if {name!r} not in controller_initial_namespace:
    import atexit as _atexit
    from sipyco.pc_rpc import Client as _Client
    controller_initial_namespace[{name!r}] = _Client({host!r}, {port!r}, {target!r})
    _atexit.register(controller_initial_namespace[{name!r}].close_rpc)
{name} = controller_initial_namespace[{name!r}]
"""


def connect_global_rpc(controller_rexec, host: str | None = None, port: int = 3251,
                       target: str = "master_dataset_db", name: str = "dataset_db") -> None:
    """Create, once per controller, an RPC client in the shared namespace.

    ``controller_rexec`` is a client of the controller's ``_rexec`` target.
    The new client connects to ``host`` (default: this client's own address
    as the controller sees it, typically the ARTIQ master) on ``port`` and
    selects ``target``; it is stored as ``name`` in the shared namespace, so
    every later connection sees it too.  If it already exists, nothing
    happens.
    """
    if not name.isidentifier():
        raise ValueError(f"{name!r} is not a valid Python name")
    if host is None:
        host = controller_rexec.get_local_host()
    controller_rexec.add_code(_GLOBAL_RPC.format(name=name, host=host, port=port,
                                                 target=target))
