from __future__ import annotations

from generations.models.credits import CreditAccount, LedgerEntry, PriceRule
from generations.models.favourites import Favourite
from generations.models.operations import (
    BreakerForce,
    BreakerState,
    DispatcherLease,
    OpsCounter,
    ProviderBreaker,
    QueueBump,
)
from generations.models.presets import Preset
from generations.models.sharing import Collection, CollectionItem, ShareLink
from generations.models.tasks import (
    IN_FLIGHT_STATES,
    TERMINAL_STATES,
    Delivery,
    GenerationTask,
    InputImage,
    Mode,
    RateBucket,
    Routing,
    State,
    TaskTransition,
    VideoAsset,
)

__all__ = [
    "IN_FLIGHT_STATES",
    "TERMINAL_STATES",
    "BreakerForce",
    "BreakerState",
    "Collection",
    "CollectionItem",
    "CreditAccount",
    "Delivery",
    "DispatcherLease",
    "Favourite",
    "GenerationTask",
    "InputImage",
    "LedgerEntry",
    "Mode",
    "OpsCounter",
    "PriceRule",
    "Preset",
    "ProviderBreaker",
    "QueueBump",
    "RateBucket",
    "Routing",
    "ShareLink",
    "State",
    "TaskTransition",
    "VideoAsset",
]
