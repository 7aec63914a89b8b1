from django.db import migrations

NAME = "Refresh provider balance"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "generations.tasks.refresh_provider_balance",
            "schedule_type": "I",  # every `minutes`
            "minutes": 1,
            "repeats": -1,
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    """A worker reads the provider balance every minute into the cache; the staff
    overview only reads the cache, so no web request waits on the provider."""

    dependencies = [
        ("generations", "0008_leader"),
        ("django_q", "__latest__"),
    ]
    operations = [migrations.RunPython(schedule, unschedule)]
