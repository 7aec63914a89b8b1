"""A board's pause message and a shot's note hold their sentence in every
interface language (``generations/stored_text.py``): text, not 300 characters."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0020_prompt_search_long_words"),
    ]

    operations = [
        migrations.AlterField(
            model_name="storyboard",
            name="pause_message",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="shot",
            name="note",
            field=models.TextField(blank=True),
        ),
    ]
