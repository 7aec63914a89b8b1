"""The credit screens of the admin: balances, grant/adjust actions, the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from generations import credits
from generations.models import CreditAccount, LedgerEntry, PriceRule
from tests.factories import queue_task

pytestmark = pytest.mark.django_db

ACCOUNTS = reverse("admin:generations_creditaccount_changelist")
LEDGER = reverse("admin:generations_ledgerentry_changelist")


@pytest.fixture
def staff_client(client: Client, staff: Any) -> Client:
    client.force_login(staff)
    return client


def account_of(user: Any) -> CreditAccount:
    return CreditAccount.objects.get(user=user)


def run_action(client: Client, action: str, users: list[Any], **form: Any) -> Any:
    """Post the action as the changelist does; with ``form``, submit its page too."""
    data: dict[str, Any] = {
        "action": action,
        "_selected_action": [account_of(u).pk for u in users],
    }
    if not form:
        data["index"] = 0
    else:
        data.update(form, apply="Apply")
    return client.post(ACCOUNTS, data)


def test_it_lists_balances_with_members(
    staff_client: Client, alice: Any, bob: Any
) -> None:
    CreditAccount.objects.filter(user=bob).update(
        max_in_flight=3, daily_credit_limit=200
    )
    page = staff_client.get(ACCOUNTS).content.decode()
    assert "alice" in page and "bob" in page
    assert "1000" in page and "200" in page


def test_it_asks_for_amount_and_reason_first(
    staff_client: Client, alice: Any, bob: Any
) -> None:
    response = run_action(staff_client, "grant_credits", [alice, bob])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Grant credits" in page
    assert "alice: 1000 credits" in page and "bob: 1000 credits" in page
    assert 'name="reason"' in page
    assert LedgerEntry.objects.filter(kind="grant").count() == 2  # the fixtures'


def test_it_grants_to_many_members_with_a_reason(
    staff_client: Client, alice: Any, bob: Any, staff: Any
) -> None:
    response = run_action(
        staff_client, "grant_credits", [alice, bob], amount=50, reason="March budget"
    )
    assert response.status_code == 302
    grants = LedgerEntry.objects.filter(reason="March budget")
    assert sorted(grants.values_list("account__user__username", flat=True)) == [
        "alice",
        "bob",
    ]
    assert {(g.kind, g.amount, g.created_by_id) for g in grants} == {
        ("grant", 50, staff.pk)
    }
    assert account_of(alice).balance == account_of(bob).balance == 1050
    messages = [str(m) for m in staff_client.get(ACCOUNTS).context["messages"]]
    assert messages == ["Granted 50 credits: alice, bob."]


def test_it_requires_a_reason(staff_client: Client, alice: Any, bob: Any) -> None:
    before = LedgerEntry.objects.count()
    response = run_action(
        staff_client, "grant_credits", [alice, bob], amount=50, reason="  "
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert LedgerEntry.objects.count() == before
    assert account_of(alice).balance == 1000


def test_it_refuses_a_bad_amount(staff_client: Client, alice: Any) -> None:
    before = LedgerEntry.objects.count()
    grant = run_action(staff_client, "grant_credits", [alice], amount=-5, reason="x")
    adjust = run_action(staff_client, "adjust_credits", [alice], amount=0, reason="x")
    assert grant.status_code == adjust.status_code == 200
    assert "greater than or equal to 1" in grant.content.decode()
    assert "must change the balance" in adjust.content.decode()
    assert LedgerEntry.objects.count() == before


def test_it_adjusts_everyone_it_can_and_says_who_it_could_not(
    staff_client: Client, alice: Any, django_user_model: Any, staff: Any
) -> None:
    poor = django_user_model.objects.create(username="poor")
    credits.grant(user=poor, amount=30, reason="test")
    response = run_action(
        staff_client, "adjust_credits", [alice, poor], amount=-100, reason="overage"
    )
    assert response.status_code == 302
    assert account_of(alice).balance == 900
    assert account_of(poor).balance == 30
    adjustment = LedgerEntry.objects.get(kind="adjustment")
    assert (adjustment.account.user, adjustment.amount) == (alice, -100)
    assert adjustment.created_by == staff
    messages = [str(m) for m in staff_client.get(ACCOUNTS).context["messages"]]
    assert messages == [
        "poor was not adjusted: the balance (30) cannot go below zero.",
        "Adjusted by -100 credits: alice.",
    ]


def test_it_sends_non_staff_to_the_admin_login(client: Client, alice: Any) -> None:
    client.force_login(alice)
    for response in (
        client.get(ACCOUNTS),
        run_action(client, "grant_credits", [alice], amount=500, reason="me"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert account_of(alice).balance == 1000


def test_it_never_edits_a_balance_through_the_form(
    staff_client: Client, alice: Any
) -> None:
    url = reverse("admin:generations_creditaccount_change", args=[account_of(alice).pk])
    page = staff_client.get(url).content.decode()
    assert 'name="balance"' not in page
    assert 'name="daily_credit_limit"' in page
    response = staff_client.post(
        url, {"balance": 999999, "max_in_flight": 2, "daily_credit_limit": ""}
    )
    assert response.status_code == 302
    account = account_of(alice)
    assert (account.balance, account.max_in_flight) == (1000, 2)
    assert account.balance == credits.ledger_sum(account)


def test_it_keeps_accounts_undeletable(staff_client: Client, alice: Any) -> None:
    url = reverse("admin:generations_creditaccount_delete", args=[account_of(alice).pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert CreditAccount.objects.filter(user=alice).exists()


def test_it_shows_the_ledger_read_only(staff_client: Client, alice: Any) -> None:
    entry = LedgerEntry.objects.get(account__user=alice)
    change = reverse("admin:generations_ledgerentry_change", args=[entry.pk])
    delete = reverse("admin:generations_ledgerentry_delete", args=[entry.pk])
    view = staff_client.get(change)
    assert view.status_code == 200  # a read-only view, without a save button
    assert 'name="_save"' not in view.content.decode()
    assert staff_client.post(change, {"amount": 1, "reason": "x"}).status_code == 403
    assert staff_client.get(delete).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    add = reverse("admin:generations_ledgerentry_add")
    assert staff_client.get(add).status_code == 403
    entry.refresh_from_db()
    assert (entry.amount, entry.reason) == (1000, "test")
    bulk = staff_client.post(
        LEDGER,
        {"action": "delete_selected", "_selected_action": [entry.pk], "index": 0},
    )
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert bulk.status_code in (200, 302)


def test_it_searches_and_filters_the_ledger(
    staff_client: Client, alice: Any, bob: Any
) -> None:
    queue_task(alice)
    credits.grant(user=bob, amount=5, reason="conference demo")
    by_member = staff_client.get(LEDGER, {"q": "alice"}).context["cl"]
    assert {e.account.user.username for e in by_member.result_list} == {"alice"}
    by_reason = staff_client.get(LEDGER, {"q": "conference"}).context["cl"]
    assert [e.reason for e in by_reason.result_list] == ["conference demo"]
    holds = staff_client.get(LEDGER, {"kind__exact": "hold"}).context["cl"]
    assert [e.kind for e in holds.result_list] == ["hold"]


def test_it_shows_credit_limits_on_the_member_page(
    staff_client: Client, alice: Any
) -> None:
    url = reverse("admin:auth_user_change", args=[alice.pk])
    page = staff_client.get(url).content.decode()
    assert "Daily credit limit" in page
    assert 'name="credit_account-0-daily_credit_limit"' in page
    assert 'name="credit_account-0-balance"' not in page
    add_page = staff_client.get(reverse("admin:auth_user_add"))
    assert add_page.status_code == 200
    assert "credit_account-" not in add_page.content.decode()


def test_it_lets_staff_edit_the_price_table(staff_client: Client) -> None:
    rule, _ = PriceRule.objects.get_or_create(
        resolution="720p", sound=True, routing="", defaults={"credits_per_second": 4}
    )
    url = reverse("admin:generations_pricerule_change", args=[rule.pk])
    response = staff_client.post(
        url,
        {"resolution": "720p", "sound": "on", "routing": "", "credits_per_second": 5},
    )
    assert response.status_code == 302
    assert credits.cost_of(resolution="720p", sound=True, duration=4) == 20
