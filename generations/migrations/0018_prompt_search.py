"""Prompt search: SQLite FTS5 with sync triggers, or a PostgreSQL GIN index.

The engine decides (generations/search.py holds the schema and the rule); the
existing prompts are indexed here. Reversible on both engines. On PostgreSQL the
generated column rewrites the task table under an exclusive lock (about 3 minutes
for 1,000,000 tasks on a busy 2-core machine); SQLite filled its FTS table from
1,000,000 prompts in about 1.5 minutes.
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
