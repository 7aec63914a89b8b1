"""Prompt search: SQLite FTS5 with sync triggers, or a PostgreSQL GIN index.

The engine decides (generations/search.py holds the schema and the rule); the
existing prompts are indexed here. Reversible on both engines.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from generations import search

    search.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from generations import search

    search.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0017_api"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
