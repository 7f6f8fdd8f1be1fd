"""Starting conductor and scheduler services as child processes, and
waiting until each one answers on the bus.

Used by ``reqspec-manage demo --transport-url``, the benchmark and the
tests. Each child is ``python -m reqspec.cmd.<kind> --config-file F``,
so its pid is the pid of the process that serves (and its name on the
bus is ``<host>.<pid>``).
"""

import configparser
import os
import signal
import socket
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

from reqspec import context
from reqspec import exception
from reqspec.conductor import rpcapi as conductor_rpcapi
from reqspec.conf import settings as conf_settings
from reqspec.scheduler import rpcapi as scheduler_rpcapi


def write_config(path: str, sections: dict[str, dict[str, Any]]) -> str:
    """Write an oslo.config file of ``{group: {option: value}}``."""
    parser = configparser.ConfigParser(interpolation=None)
    for group, values in sections.items():
        parser[group] = {k: str(v) for k, v in values.items()}
    with open(path, "w") as out:
        parser.write(out)
    return path


class Service:
    """One child process and its log file."""

    def __init__(
        self, kind: str, process: subprocess.Popen[bytes], log: str
    ) -> None:
        self.kind = kind
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def server(self) -> str:
        return f"{socket.gethostname()}.{self.pid}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Services:
    """Child service processes, stopped (SIGTERM, then SIGKILL) on exit.

    The caller configures this process like the children, so that it
    can ping them over the same bus (``CONF``) and topics (``settings``,
    or the process's).
    """

    def __init__(
        self,
        config_file: str,
        log_dir: str,
        settings: conf_settings.Settings | None = None,
    ) -> None:
        self.config_file = config_file
        self.log_dir = log_dir
        self.settings = settings or conf_settings.get_default()
        self.started: list[Service] = []

    def start(self, kind: str, command: list[str] | None = None) -> Service:
        """Start a ``conductor`` or ``scheduler`` (or ``command``, which
        is given ``--config-file`` too)."""
        if command is None:
            command = [sys.executable, "-m", f"reqspec.cmd.{kind}"]
        n = sum(1 for s in self.started if s.kind == kind) + 1
        log = os.path.join(self.log_dir, f"{kind}-{n}.log")
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [*command, "--config-file", self.config_file],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        service = Service(kind, process, log)
        self.started.append(service)
        return service

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every started service answers a ping on its own queue;
        ``ServiceUnavailable`` (with its log) if one died or stayed mute."""
        ctx = context.get_admin_context(settings=self.settings)
        deadline = time.monotonic() + timeout
        apis: dict[str, Any] = {}
        for service in self.started:
            while True:
                if service.process.poll() is not None:
                    raise exception.ServiceUnavailable(
                        service=f"{service.kind} (pid {service.pid})",
                        reason="it exited with status "
                        f"{service.process.returncode}:\n{service.log_tail()}",
                    )
                if service.kind not in apis:
                    apis[service.kind] = (
                        conductor_rpcapi.ComputeTaskAPI(settings=self.settings)
                        if service.kind == "conductor"
                        else scheduler_rpcapi.SchedulerAPI(
                            settings=self.settings
                        )
                    )
                try:
                    apis[service.kind].ping(
                        ctx, server=service.server, timeout=1
                    )
                    break
                except exception.ServiceUnavailable:
                    if time.monotonic() > deadline:
                        raise exception.ServiceUnavailable(
                            service=f"{service.kind} (pid {service.pid})",
                            reason=f"no answer within {timeout:.0f}s:\n"
                            f"{service.log_tail()}",
                        ) from None

    def stop(self, timeout: float = 30.0) -> dict[int, int | None]:
        """SIGTERM every live service, wait for it to drain, SIGKILL what
        is left; returns each pid's exit status."""
        for service in self.started:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[int, int | None] = {}
        for service in self.started:
            left = max(0.0, deadline - time.monotonic())
            try:
                codes[service.pid] = service.process.wait(left)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
                codes[service.pid] = None
        return codes

    def __enter__(self) -> "Services":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
