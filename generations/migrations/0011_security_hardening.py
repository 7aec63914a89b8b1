"""Security review (issue #11): login throttle slots, a collection description
limit, and the hourly clean-up of upload drafts no task uses."""

from django.db import migrations, models

SCHEDULE_NAME = "Clean unused upload drafts"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "generations.tasks.clean_upload_drafts",
            "schedule_type": "H",  # hourly
            "repeats": -1,
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0010_member_language"),
        ("django_q", "__latest__"),
    ]

    operations = [
        migrations.AlterField(
            model_name="collection",
            name="description",
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.CreateModel(
            name="LoginSlot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("key", models.CharField(max_length=64)),
                ("at", models.FloatField(help_text="Epoch seconds")),
            ],
            options={
                "indexes": [
                    models.Index(fields=["key", "at"], name="loginslot_key_at")
                ],
            },
        ),
        migrations.RunPython(schedule, unschedule),
    ]
