from django.db import migrations

NAME = "Sweep stuck tasks"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "generations.tasks.sweep",
            "schedule_type": "I",  # every `minutes`
            "minutes": 1,
            "repeats": -1,
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    """The sweeper also runs as a django-q2 schedule, so that rows stuck after a
    worker death are recovered even while no dispatcher is running (the
    dispatcher sweeps too; every step is a compare-and-set, so both may)."""

    dependencies = [
        ("generations", "0006_task_owner_updated"),
        ("django_q", "__latest__"),
    ]
    operations = [migrations.RunPython(schedule, unschedule)]
