from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from pipelines.demo import DEMO_PIPELINES
from pipelines.models import Pipeline, Workspace
from pipelines.services.demo import demo_churn_create
from pipelines.services.pipelines import pipeline_create
from pipelines.services.workspaces import workspace_create_personal

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-pass-123"


class Command(BaseCommand):
    help = "Create the demo user and the demo pipelines (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com", "is_staff": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = True
            user.save()
        workspace = Workspace.objects.filter(personal_owner=user).first() or workspace_create_personal(
            user=user
        )
        for spec in DEMO_PIPELINES:
            if not Pipeline.objects.filter(workspace=workspace, name=spec["name"]).exists():
                pipeline_create(
                    workspace=workspace,
                    user=user,
                    name=spec["name"],
                    description=spec["description"],
                    graph=spec["graph"](),
                )
        demo_churn_create(workspace=workspace, user=user)
        self.stdout.write(
            self.style.SUCCESS(f"demo login: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}'")
        )
