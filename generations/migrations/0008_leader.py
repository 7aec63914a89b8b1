# The dispatcher lease (generations/pipeline/leader.py): one active dispatcher.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("generations", "0007_sweeper_schedule"),
    ]

    operations = [
        migrations.CreateModel(
            name="DispatcherLease",
            fields=[
                ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("holder", models.CharField(blank=True, max_length=200)),
                ("expires_at", models.DateTimeField()),
                ("acquired_at", models.DateTimeField(blank=True, null=True)),
                ("renewed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
