from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generations", "0005_merge")]

    operations = [
        migrations.AddIndex(
            model_name="generationtask",
            index=models.Index(
                fields=["owner", "updated_at"], name="task_owner_updated"
            ),
        ),
    ]
