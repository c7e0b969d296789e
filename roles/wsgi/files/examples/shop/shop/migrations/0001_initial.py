"""The shop's table and its first items (a data migration: the `migrate` hook runs it once)."""

from django.db import migrations, models


def stock(apps, schema_editor):
    item = apps.get_model("shop", "Item")
    for name in ("kettle", "teapot"):
        item.objects.create(name=name)


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
            ],
        ),
        migrations.RunPython(stock, migrations.RunPython.noop),
    ]
