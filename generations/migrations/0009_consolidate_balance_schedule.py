from django.db import migrations

# A worker reads the provider balance every minute into the cache.
JOB = {
    "name": "Refresh provider balance",
    "func": "generations.tasks.refresh_provider_balance",
    "schedule_type": "I",
    "minutes": 1,
    "repeats": -1,
}


def add_job(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    name, fields = JOB["name"], {k: v for k, v in JOB.items() if k != "name"}
    Schedule.objects.update_or_create(name=name, defaults=fields)


def remove_job(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=JOB["name"]).delete()


class Migration(migrations.Migration):
    """The staff overview only reads the cached balance: no web request waits on
    the provider."""

    dependencies = [
        ("generations", "0008_leader"),
        ("django_q", "__latest__"),
    ]
    operations = [migrations.RunPython(add_job, remove_job)]
