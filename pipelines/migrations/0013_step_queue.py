from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("pipelines", "0012_schedules"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="queue",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
