"""The dispatcher loop; any number may run, one leads (generations/pipeline/leader.py).

The active one renews its lease every pass, sweeps and dispatches; the others
stand by and take the lease over when it runs out (the active one died) or is
released (it stopped cleanly).
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import OperationalError, close_old_connections

from generations.pipeline import dispatch, leader

log = logging.getLogger("generations.dispatcher")

SWEEP_EVERY_SECONDS = 15.0


class Command(BaseCommand):
    help = "Run the loop that hands due submits, polls and downloads to workers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Dispatch once and exit (skipped while another dispatcher leads).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self._once()
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        lease = leader.Leadership()
        log.info(
            "dispatcher %s started (every %.1f s, lease %.1f s)",
            lease.holder,
            settings.DISPATCH_INTERVAL_SECONDS,
            lease.ttl,
        )
        try:
            self._loop(lease, lambda: stopping)
        finally:
            lease.release()
            log.info("dispatcher %s stopped", lease.holder)

    def _once(self) -> None:
        lease = leader.Leadership()
        if not lease.ensure():
            self.stdout.write("another dispatcher is active; nothing done")
            return
        try:
            self.stdout.write(str(dispatch.dispatch_once()))
        finally:
            lease.release()

    def _loop(self, lease: leader.Leadership, stopping: Any) -> None:
        leading: bool | None = None  # unknown: the first pass announces its role
        last_sweep = 0.0
        while not stopping():
            started = time.monotonic()
            try:
                close_old_connections()
                now_leading = lease.ensure()
                if now_leading != leading:
                    leading = now_leading
                    _announce(lease, leading)
                if leading and started - last_sweep >= SWEEP_EVERY_SECONDS:
                    last_sweep = started
                    _sweep()
                # The lease may have run out during a slow sweep: check again.
                if leading and lease.is_leader():
                    counts = dispatch.dispatch_once()
                    if any(counts.values()):
                        log.info("dispatched %s", counts)
            except OperationalError as exc:
                log.warning("database busy, will retry: %s", exc)
            except Exception:
                # Redis (broker, cache) restarting, a connection cut: this pass
                # is lost and the next one retries. Every step is a
                # compare-and-set, and a job lost after its row was leased is
                # handed out again once the lease lapses.
                log.exception("dispatch pass failed, will retry")
            elapsed = time.monotonic() - started
            time.sleep(max(0.05, _interval(bool(leading)) - elapsed))


def _announce(lease: leader.Leadership, leading: bool) -> None:
    if leading:
        log.info("dispatcher %s is now the active dispatcher", lease.holder)
    else:
        log.warning("dispatcher %s is on standby", lease.holder)


def _sweep() -> None:
    swept = dispatch.sweep()
    if any(swept.values()):
        log.info("sweep: %s", swept)


def _interval(leading: bool) -> float:
    """A standby checks the lease often enough to take over within seconds."""
    interval = float(settings.DISPATCH_INTERVAL_SECONDS)
    return interval if leading else min(interval, leader.lease_seconds() / 5)
