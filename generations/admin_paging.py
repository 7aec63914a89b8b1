"""A paginator for big admin lists: it counts at most CAP + 1 rows.

Django's paginator counts every matching row on each page view (``COUNT(*)``
over the whole table); at a million tasks that count alone is most of the page's
time. This one stops counting past ``CAP``: the list says "10,000+" and offers
the first ``CAP // per_page`` pages; filters, the date links and search narrow
it further. The count is a subquery with a LIMIT, so it reads at most CAP + 1
index entries, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext

CAP = 10_000


class CappedPaginator(Paginator[Any]):
    cap = CAP

    @cached_property
    def count(self) -> int:
        """The number of rows, or CAP + 1 when there are more than CAP."""
        queryset: Any = self.object_list
        if not hasattr(queryset, "order_by"):
            return len(queryset)
        return int(queryset.order_by()[: self.cap + 1].count())

    def page(self, number: Any) -> Any:
        """As Django's, but past the cap the last page is a whole page (Django
        would cut it at the count)."""
        if not self.capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom : bottom + self.per_page]
        return self._get_page(rows, number, self)  # type: ignore[attr-defined]

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    def count_text(self) -> str:
        """The count as the list shows it: exact, or "10,000+" past the cap."""
        if self.capped:
            return gettext("%(count)s+") % {
                "count": number_format(self.cap, force_grouping=True)
            }
        return number_format(self.count, force_grouping=True)
