"""What ``reqspec-conductor`` and ``reqspec-scheduler`` share: reading the
configuration, serving RPC with a thread pool, running periodic work,
and draining on SIGTERM.

No eventlet and no oslo.service launcher: a process is one RPC server
(oslo.messaging's ``threading`` executor) plus, for a conductor, one
thread for the periodic heal; several processes consume one topic.

SIGTERM (or SIGINT) drains: the server stops taking messages (those not
taken stay queued for the other processes), the requests in progress
run to their end (every step of a move included), the periodic thread
finishes its current pass, and the process exits 0. Requests still
running after ``[conductor] graceful_shutdown_timeout`` seconds are
abandoned: the process exits 1, and whatever move they left recorded
is finished by another conductor's heal.
"""

from collections.abc import Callable
from collections.abc import Sequence
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from oslo_config import cfg

import reqspec
from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec import rpc
from reqspec.conf import settings as conf_settings

CONF = conf.CONF
LOG = logging.getLogger("reqspec.service")


def parse_args(argv: Sequence[str] | None) -> conf_settings.Settings:
    """Parse the command line and configuration files, and resolve them
    once: the settings every context of this process holds."""
    CONF(
        list(sys.argv[1:] if argv is None else argv),
        project="reqspec",
        version=reqspec.__version__,
    )
    settings = conf_settings.Settings.from_conf(CONF)
    conf_settings.set_default(settings)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s",
    )
    # oslo.messaging logs every reconnection attempt at INFO.
    logging.getLogger("oslo.messaging").setLevel(logging.WARNING)
    return settings


def serve(
    name: str,
    topic: str,
    endpoint: Any,
    settings: conf_settings.Settings,
    periodic: Callable[[context.RequestContext], None] | None = None,
    interval: float = 60.0,
) -> int:
    """Serve ``endpoint`` on ``topic`` until SIGTERM, running
    ``periodic`` every ``interval`` seconds; returns the exit code.
    Every context it hands out holds ``settings``."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        LOG.info("%s: signal %d, draining", name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = rpc.get_server(topic, [endpoint], name, settings=settings)
    server.start()
    ticker = None
    if periodic is not None:
        ticker = threading.Thread(
            target=_tick,
            args=(name, periodic, interval, stop, settings),
            name="periodic",
            daemon=True,
        )
        ticker.start()
    LOG.info("%s ready on topic %s as %s", name, topic, rpc.server_name())
    # A timed wait, so that the signal handler runs promptly.
    while not stop.wait(0.5):
        pass
    server.stop()
    grace = settings.conductor.graceful_shutdown_timeout
    drained = _wait(server, grace)
    if ticker is not None:
        ticker.join(grace)
        drained = drained and not ticker.is_alive()
    rpc.cleanup()
    LOG.info("%s stopped (%s)", name, "drained" if drained else "timed out")
    return 0 if drained else 1


def _wait(server: Any, timeout: float) -> bool:
    """Wait for the requests in progress; False after ``timeout``."""
    waiter = threading.Thread(target=server.wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()


def _tick(
    name: str,
    periodic: Callable[[context.RequestContext], None],
    interval: float,
    stop: threading.Event,
    settings: conf_settings.Settings,
) -> None:
    while not stop.wait(interval):
        try:
            periodic(context.get_admin_context(settings=settings))
        except exception.ReqspecError as err:
            # A database down for a moment: the next pass tries again.
            LOG.warning("%s: periodic task failed: %s", name, err.message)
        except Exception:
            LOG.exception("%s: periodic task failed", name)


def main(
    run: Callable[[conf_settings.Settings], int], argv: Sequence[str] | None
) -> int:
    """Parse the configuration and ``run`` with the settings it resolves
    to; errors are one line."""
    try:
        return run(parse_args(argv))
    except exception.ReqspecError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 1
    except cfg.Error as err:
        # A bad option value or config file: the operator's to fix.
        print(f"error: {err}", file=sys.stderr)
        return 1
