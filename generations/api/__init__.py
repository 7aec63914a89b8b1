"""The JSON API under /api/v1/ (django-ninja): tokens, idempotency, webhooks.

The API is another door to the same services and queryset rules as the pages;
it adds none of its own.
"""
