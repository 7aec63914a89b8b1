from django.db import migrations

DEFAULTS = [("480p", False, 1), ("480p", True, 2), ("720p", False, 2), ("720p", True, 4)]


def seed(apps, schema_editor):
    PriceRule = apps.get_model("generations", "PriceRule")
    for resolution, sound, cps in DEFAULTS:
        PriceRule.objects.get_or_create(
            resolution=resolution,
            sound=sound,
            routing="",
            defaults={"credits_per_second": cps},
        )


class Migration(migrations.Migration):
    dependencies = [("generations", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
