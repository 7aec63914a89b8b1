"""Prompt search on SQLite: prefix indexes for word starts of 9 to 16 letters too.

FTS5 fixes its prefix lengths when the table is made, so the table is made again
and filled from the prompts (about 2 minutes for 1,000,000 tasks). PostgreSQL's
GIN index needs nothing. Going back keeps the longer prefixes (harmless).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from generations import search

    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        search.uninstall(connection)
        search.install(connection)


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0019_flat_pages"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
