from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import OperationalError, close_old_connections

from generations.pipeline import dispatch

log = logging.getLogger("generations.dispatcher")

SWEEP_EVERY_SECONDS = 15.0


class Command(BaseCommand):
    help = "Run the loop that hands due submits, polls and downloads to workers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Dispatch once and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(str(dispatch.dispatch_once()))
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info(
            "dispatcher started (every %.1f s)", settings.DISPATCH_INTERVAL_SECONDS
        )
        last_sweep = 0.0
        while not stopping:
            started = time.monotonic()
            try:
                close_old_connections()
                if started - last_sweep >= SWEEP_EVERY_SECONDS:
                    swept = dispatch.sweep()
                    last_sweep = started
                    if any(swept.values()):
                        log.info("sweep: %s", swept)
                counts = dispatch.dispatch_once()
                if any(counts.values()):
                    log.info("dispatched %s", counts)
            except OperationalError as exc:
                log.warning("database busy, will retry: %s", exc)
            elapsed = time.monotonic() - started
            time.sleep(max(0.05, settings.DISPATCH_INTERVAL_SECONDS - elapsed))
        log.info("dispatcher stopped")
