from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_every_user_a_personal_workspace(sender, instance, created, **kwargs) -> None:
    if created:
        from .services.workspaces import workspace_create_personal

        workspace_create_personal(user=instance)
