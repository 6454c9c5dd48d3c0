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

from typing import Any

from sipyco.pc_rpc import simple_server_loop

__all__ = ["RemoteExecServer", "simple_rexec_server_loop", "connect_global_rpc"]


class RemoteExecServer:
    """One connection's namespace (see the module documentation)."""

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
    ``target_name + "_rexec"`` until Ctrl-C, SIGTERM or ``terminate()``."""
    initial_namespace: dict = {"controller_driver": target}
    initial_namespace["controller_initial_namespace"] = initial_namespace

    def new_namespace() -> RemoteExecServer:
        return RemoteExecServer(initial_namespace)

    simple_server_loop({target_name: target, target_name + "_rexec": new_namespace},
                       host, port, description, ssl_config=ssl_config)


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
