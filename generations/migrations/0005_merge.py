from django.db import migrations


class Migration(migrations.Migration):
    """Joins the gallery and sharing branches."""

    dependencies = [
        ("generations", "0004_gallery"),
        ("generations", "0004_sharing"),
    ]
    operations: list[migrations.operations.base.Operation] = []
