from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_every_user_a_personal_workspace(sender, instance, created, **kwargs) -> None:
    if created:
        from .services.workspaces import workspace_create_personal

        workspace_create_personal(user=instance)


@receiver(post_save, sender="pipelines.DeploymentRevision")
def give_every_deployment_default_alert_rules(sender, instance, created, **kwargs) -> None:
    """Monitoring alerts are on from a deployment's first revision (issue 9)."""
    if created and instance.number == 1:
        from .services.alerts import alert_rules_create_defaults

        alert_rules_create_defaults(deployment=instance.deployment, version=instance.model_version)
