"""The message bus: transport, serializers, RPC clients and servers.

Services talk over oslo.messaging (RabbitMQ in a deployment, ``fake://``
in one process) with ``[DEFAULT] transport_url``. What crosses the wire:

- the request context, as ``RequestContext.to_dict()``; a context always
  arrives on the API database (orchestration starts there, and a context
  aimed at a cell cannot be sent: the receiver would have no way to
  check the cell it names);
- reqspec's versioned objects, as oslo.versionedobjects primitives in the
  ``reqspec_object`` namespace. A receiver handed an object version newer
  than it knows refuses the message with ``IncompatibleObjectVersion``
  naming both versions; the senders' ``[upgrade_levels]`` pins prevent
  that during an upgrade (see ``doc/source/rpc.rst``).
- reqspec's typed errors come back to a caller as the same types.

Nothing here is used unless services are started: by default (the
demo, the library) the compute API, conductor and scheduler call each
other directly in one process, with no broker.
"""

import os
import socket
import threading
from typing import Any

from oslo_config import cfg
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exception

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec.objects import base as objects_base

CONF = conf.CONF

#: Modules whose exceptions a caller gets back as themselves.
ALLOWED_EXMODS = ["reqspec.exception"]

_transports: dict[str, messaging.Transport] = {}
_lock = threading.Lock()


def register_opts(conf_: cfg.ConfigOpts) -> None:
    """oslo.messaging's options, registered early so that reqspec can set
    its own defaults (and ``--help`` shows them)."""
    # First: list_opts() returns copies, which must carry this default
    # to equal the originals that oslo.messaging registers later.
    messaging.set_transport_defaults(control_exchange="reqspec")
    for group, opts in messaging_opts.list_opts():
        conf_.register_opts(opts, group=group)


register_opts(CONF)


def transport_url() -> str:
    """``[DEFAULT] transport_url`` (oslo.messaging's default: RabbitMQ on
    localhost, as for every OpenStack service)."""
    url: str = CONF.transport_url
    return url


def get_transport(url: str | None = None) -> messaging.Transport:
    """The RPC transport for ``url`` (default: the configured one), made
    once per URL."""
    url = url or transport_url()
    with _lock:
        transport = _transports.get(url)
        if transport is None:
            transport = messaging.get_rpc_transport(
                CONF, url=url, allowed_remote_exmods=ALLOWED_EXMODS
            )
            _transports[url] = transport
        return transport


def cleanup() -> None:
    """Close every transport (their connections and threads)."""
    with _lock:
        for transport in _transports.values():
            transport.cleanup()
        _transports.clear()


class ObjectSerializer(ovo_base.VersionedObjectSerializer):
    """reqspec's objects to primitives and back; a version newer than
    this code knows is refused with a typed error naming both."""

    OBJ_BASE_CLASS = objects_base.ReqspecObject

    def __init__(self, service: str = "receiving service") -> None:
        super().__init__()
        self.service = service

    def _process_object(
        self, context: Any, objprim: dict[str, Any]
    ) -> ovo_base.VersionedObject | None:
        try:
            return super()._process_object(context, objprim)
        except ovo_exception.IncompatibleObjectVersion as err:
            ns = self.OBJ_BASE_CLASS.OBJ_SERIAL_NAMESPACE
            raise exception.IncompatibleObjectVersion(
                objname=objprim.get(f"{ns}.name"),
                received=objprim.get(f"{ns}.version"),
                supported=err.kwargs.get("supported"),
                service=self.service,
            ) from None


class ContextSerializer(messaging.Serializer):
    """Adds the request context to an entity serializer."""

    def __init__(self, base: messaging.Serializer) -> None:
        self._base = base

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt: context.RequestContext) -> Any:
        if ctxt.cell is not None:
            raise exception.ReqspecError(
                "an RPC request needs a context on the API database, not "
                f"one targeted at {ctxt.database}"
            )
        return ctxt.to_dict()

    def deserialize_context(
        self, values: dict[str, Any]
    ) -> context.RequestContext:
        values = {k: v for k, v in values.items() if k != "cell_uuid"}
        return context.RequestContext.from_dict(values, overwrite=False)


def serializer(service: str) -> ContextSerializer:
    return ContextSerializer(ObjectSerializer(service))


def server_name() -> str:
    """This process's name on the bus: its host and pid, so that several
    services of one kind can run on a host and each can be addressed."""
    return f"{socket.gethostname()}.{os.getpid()}"


def get_client(
    topic: str,
    version: str,
    version_cap: str | None,
    service: str,
    url: str | None = None,
) -> messaging.RPCClient:
    target = messaging.Target(topic=topic, version=version)
    return messaging.get_rpc_client(
        get_transport(url),
        target,
        version_cap=version_cap,
        serializer=serializer(service),
    )


def ping(
    client: messaging.RPCClient,
    ctx: context.RequestContext,
    service: str,
    server: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """The pid and RPC version of a ``service`` process (``server``: one
    named process; default: any on the client's topic), or
    ``ServiceUnavailable`` if none answers within ``timeout`` seconds.
    Every reqspec service answers ``ping`` at RPC version 1.0."""
    cctxt = client.prepare(version="1.0", server=server, timeout=timeout)
    try:
        answer: dict[str, Any] = cctxt.call(ctx, "ping")
    except messaging.MessagingTimeout as err:
        raise exception.ServiceUnavailable(
            service=service, reason=str(err)
        ) from None
    return answer


def get_server(
    topic: str,
    endpoints: list[Any],
    service: str,
    url: str | None = None,
) -> messaging.MessageHandlingServer:
    """An RPC server on ``topic`` (shared by every service of the kind)
    and on this process's own queue.

    Its executor is oslo.messaging's thread pool: the library picks it
    whenever eventlet has not monkey-patched the process, which reqspec
    never does (naming it explicitly is deprecated)."""
    target = messaging.Target(topic=topic, server=server_name())
    return messaging.get_rpc_server(
        get_transport(url),
        target,
        endpoints,
        serializer=serializer(service),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )


def set_worker_defaults(workers: int) -> None:
    """At most ``workers`` requests in progress, and as many taken from
    the broker ahead of them: the rest stay queued for other processes
    of the same kind (RabbitMQ's default would hand one process every
    message at once), and a process that dies loses only those."""
    CONF.set_default("executor_thread_pool_size", workers)
    CONF.set_default(
        "rabbit_qos_prefetch_count", workers, group="oslo_messaging_rabbit"
    )
