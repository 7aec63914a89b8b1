"""A local stand-in for the Apixo Seedance API, over real HTTP (no Django here).

running = start_simulator(SimulatorConfig(api_key="k", port=0, speed=60))
... requests to running.base_url ...
running.stop()
"""

from __future__ import annotations

from .config import ConfigError, FaultSettings, SimulatorConfig
from .running import RunningSimulator, serve, start_simulator

__all__ = [
    "ConfigError",
    "FaultSettings",
    "RunningSimulator",
    "SimulatorConfig",
    "serve",
    "start_simulator",
]
