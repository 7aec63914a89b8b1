from django.db import migrations, models

# 0004_gallery created these two indexes in plain SQL, outside the migration
# state, so SQLite's table rebuilds (any added column) dropped them. From here on
# the model state knows them: rebuilds recreate them, and the database side only
# makes sure they exist.
CREATE = [
    "CREATE INDEX IF NOT EXISTS gallery_task_visible ON "
    "generations_generationtask (state, hidden, id, created_at)",
    "CREATE INDEX IF NOT EXISTS gallery_task_owner ON "
    "generations_generationtask (owner_id, state, hidden, id, created_at)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0014_delivery_check_and_provider_state"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(sql=CREATE, reverse_sql=migrations.RunSQL.noop)
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="generationtask",
                    index=models.Index(
                        fields=["state", "hidden", "id", "created_at"],
                        name="gallery_task_visible",
                    ),
                ),
                migrations.AddIndex(
                    model_name="generationtask",
                    index=models.Index(
                        fields=["owner", "state", "hidden", "id", "created_at"],
                        name="gallery_task_owner",
                    ),
                ),
            ],
        ),
    ]
