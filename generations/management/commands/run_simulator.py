"""Run the local Apixo stand-in until SIGINT/SIGTERM.

Defaults come from the SIMULATOR_* settings when they exist, so
``python manage.py run_simulator`` serves what the studio expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.apixo.simulator import (
    ConfigError,
    FaultSettings,
    RunningSimulator,
    SimulatorConfig,
    serve,
)


class Command(BaseCommand):
    help = "Serve the simulated Apixo Seedance API over HTTP until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        var_dir = Path(getattr(settings, "VAR_DIR", "var"))
        parser.add_argument(
            "--host", default=getattr(settings, "SIMULATOR_HOST", "127.0.0.1")
        )
        parser.add_argument(
            "--port", type=int, default=getattr(settings, "SIMULATOR_PORT", 8765)
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=getattr(settings, "SIMULATOR_SPEED", 60.0),
            help="divide generation times, webhook retry delays and URL lifetime",
        )
        parser.add_argument(
            "--api-key", default=getattr(settings, "SIMULATOR_API_KEY", "sim-key")
        )
        parser.add_argument("--data-dir", default=str(var_dir / "simulator"))
        parser.add_argument(
            "--public-base-url", default=None, help="base of result URLs"
        )
        parser.add_argument("--faults", default="{}", help="fault settings as JSON")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--shared-videos",
            action="store_true",
            help="one video per parameter set whatever the prompt (load tests)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = SimulatorConfig(
                api_key=options["api_key"],
                host=options["host"],
                port=options["port"],
                speed=options["speed"],
                public_base_url=options["public_base_url"],
                data_dir=Path(options["data_dir"]),
                faults=FaultSettings.from_json(options["faults"]),
                seed=options["seed"],
                prompt_specific_videos=not options["shared_videos"],
            )
        except ConfigError as error:
            raise CommandError(str(error)) from None

        def announce(running: RunningSimulator) -> None:
            self.stdout.write(
                f"Apixo simulator listening on {running.base_url} "
                f"(speed x{config.speed:g}, results in {config.data_dir})"
            )
            self.stdout.flush()

        try:
            serve(config, on_ready=announce)
        except OSError as error:
            where = f"{config.host}:{config.port}"
            raise CommandError(f"cannot listen on {where}: {error}") from None
        self.stdout.write("Apixo simulator stopped.")
