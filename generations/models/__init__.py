from __future__ import annotations

from generations.models.api import (
    ApiToken,
    IdempotencyKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from generations.models.credits import CreditAccount, LedgerEntry, PriceRule
from generations.models.favourites import Favourite
from generations.models.members import MemberLanguage
from generations.models.operations import (
    BreakerForce,
    BreakerState,
    DispatcherLease,
    LoginSlot,
    OpsCounter,
    ProviderBreaker,
    QueueBump,
    RateBucket,
)
from generations.models.presets import Preset
from generations.models.remembered import RememberedParams
from generations.models.sharing import Collection, CollectionItem, ShareLink
from generations.models.storyboards import Film, Shot, Storyboard
from generations.models.tasks import (
    IN_FLIGHT_STATES,
    POLLED_STATES,
    PROVIDER_SLOT_STATES,
    TERMINAL_STATES,
    Delivery,
    FailCode,
    GenerationTask,
    InputImage,
    Kind,
    Mode,
    Routing,
    State,
    TaskTransition,
    VideoAsset,
)

__all__ = [
    "ApiToken",
    "IdempotencyKey",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "IN_FLIGHT_STATES",
    "POLLED_STATES",
    "PROVIDER_SLOT_STATES",
    "TERMINAL_STATES",
    "BreakerForce",
    "BreakerState",
    "Collection",
    "CollectionItem",
    "CreditAccount",
    "Delivery",
    "FailCode",
    "Film",
    "DispatcherLease",
    "Favourite",
    "GenerationTask",
    "InputImage",
    "Kind",
    "LedgerEntry",
    "MemberLanguage",
    "LoginSlot",
    "Mode",
    "OpsCounter",
    "PriceRule",
    "Preset",
    "ProviderBreaker",
    "QueueBump",
    "RateBucket",
    "RememberedParams",
    "Routing",
    "ShareLink",
    "Shot",
    "State",
    "Storyboard",
    "TaskTransition",
    "VideoAsset",
]
