"""The fault matrix's figures, defined once, and its seeding.

Run as a script against the database in DATABASE_URL (the fault tests' private
PostgreSQL), so the test process never points its own connection elsewhere::

    python -m tests.fault_figures seed --tag pg --tasks 4   # prints member ids
    python -m tests.fault_figures figures                    # prints one JSON line

The figures (all must be 0 after a fault, but ``tasks``):

- ``tasks``: generation tasks in the database;
- ``unfinished``: tasks not in ``TERMINAL_STATES``;
- ``lost``: unfinished tasks that are not moving on: no ``next_action_at`` (the
  dispatcher hands a row out once due and its lease lapsed) and not a
  ``submitting`` row with a lease (the sweeper resolves it when the lease ends).
  A broker job lost with Redis is not counted apart: the row's lease lapses and
  the row is handed out again, so only the row's own fields decide;
- ``duplicates``: tasks the provider created beyond the first for one job (each
  seeded job has a unique prompt; the simulator counts ``repeated_prompts``);
- ``open_holds``: holds neither captured nor released on a finished task
  (``credits.finished_with_open_hold``): credits held for no live task;
- ``balance_mismatch``: members whose balance differs from their ledger's sum.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

ZERO_FIGURES = ("lost", "duplicates", "open_holds", "balance_mismatch")


def figures() -> dict[str, int]:
    from django.db.models import Q

    from generations import credits
    from generations.models import (
        IN_FLIGHT_STATES,
        CreditAccount,
        GenerationTask,
        State,
    )

    unfinished = GenerationTask.objects.filter(state__in=IN_FLIGHT_STATES)
    moving_on = Q(next_action_at__isnull=False) | Q(
        state=State.SUBMITTING, lease_until__isnull=False
    )
    return {
        "tasks": GenerationTask.objects.count(),
        "unfinished": unfinished.count(),
        "lost": unfinished.exclude(moving_on).count(),
        "open_holds": credits.finished_with_open_hold().count(),
        "balance_mismatch": sum(
            account.balance != credits.ledger_sum(account)
            for account in CreditAccount.objects.all()
        ),
    }


def prompt_for(tag: str, index: int) -> str:
    """A unique prompt per job, so the provider's log tells duplicates apart."""
    return f"fault {tag}, job {index}: a calm seaside sunrise, gentle dolly movement"


def seed(tag: str, tasks: int, member: str, suffix: str) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from generations import credits
    from tests.factories import queue_task

    user = User.objects.filter(username=member).first()
    if user is None:
        user = User.objects.create_user(member, password=f"{member}-password")
        credits.grant(user=user, amount=5000, reason="fault matrix")
    made = [
        queue_task(user, prompt=prompt_for(tag, i) + suffix).pk for i in range(tasks)
    ]
    return {"member": user.pk, "tasks": made}


def token(member: str) -> str:
    from django.contrib.auth.models import User

    from generations.api.tokens import create_token

    user = User.objects.get(username=member)
    return create_token(
        owner=user, name="faults", scopes=["generate", "read"], expires_in_days=1
    ).secret


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    seeding = sub.add_parser("seed")
    seeding.add_argument("--tag", required=True)
    seeding.add_argument("--tasks", type=int, default=0)
    seeding.add_argument("--member", default="alice")
    seeding.add_argument("--suffix", default="")
    sub.add_parser("figures")
    tokens = sub.add_parser("token")
    tokens.add_argument("--member", default="alice")
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedance_site.settings")
    import django

    django.setup()
    if options.command == "seed":
        answer: Any = seed(options.tag, options.tasks, options.member, options.suffix)
    elif options.command == "token":
        answer = {"token": token(options.member)}
    else:
        answer = figures()
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
