"""Running the simulator: in a background thread for tests, or blocking for the
management command."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .config import FaultSettings, SimulatorConfig
from .core import Simulator
from .limits import Counters
from .server import SimulatorServer
from .webhooks import Attempt


class RunningSimulator:
    """A simulator serving in a background thread (see ``start_simulator``)."""

    def __init__(
        self, config: SimulatorConfig, simulator: Simulator, server: SimulatorServer
    ) -> None:
        self.config = config
        self.simulator = simulator
        self.server = server
        host, port = server.server_address[:2]
        self.port = int(port)
        self.base_url = f"http://{url_host(str(host))}:{self.port}"
        simulator.public_base_url = config.public_base_url or self.base_url
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="simulator-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def counters(self) -> Counters:
        return self.simulator.counters

    def stats(self) -> dict[str, Any]:
        return self.simulator.stats()

    def set_faults(self, faults: FaultSettings | Mapping[str, Any]) -> None:
        if not isinstance(faults, FaultSettings):
            faults = FaultSettings.from_mapping(faults)
        self.simulator.set_faults(faults)

    def reset(self) -> None:
        self.simulator.reset()

    def webhook_attempts(self) -> list[Attempt]:
        return self.simulator.webhook_attempts()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.simulator.close()
        self._thread.join(5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def url_host(host: str) -> str:
    """The host to put in URLs for a bound address (wildcards become loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def start_simulator(config: SimulatorConfig) -> RunningSimulator:
    """Bind (port 0 picks a free port) and serve in a daemon thread."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    simulator = Simulator(config)
    try:
        server = SimulatorServer((config.host, config.port), simulator)
    except BaseException:
        simulator.close()
        raise
    return RunningSimulator(config, simulator, server)


def serve(
    config: SimulatorConfig,
    *,
    on_ready: Callable[[RunningSimulator], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or until ``stop`` is set), then shut down."""
    stop = stop or threading.Event()
    running = start_simulator(config)
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        if on_ready is not None:
            on_ready(running)
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        running.stop()
