"""Loading the demo data that needs a workspace: the churn dataset and its pipeline."""

from __future__ import annotations

from ..demo import CHURN_DEMO
from ..demo_data import churn_csv
from ..models import Dataset, Pipeline, Workspace
from .datasets import dataset_upload
from .pipelines import pipeline_create


def demo_churn_create(*, workspace: Workspace, user) -> Pipeline:
    """The churn demo in ``workspace``: the generated CSV as an uploaded dataset and
    the pipeline that trains on it. Idempotent: existing ones (by name) are kept."""
    dataset = Dataset.objects.filter(workspace=workspace, name=CHURN_DEMO["dataset_name"]).first()
    if dataset is None:
        dataset = dataset_upload(
            workspace=workspace,
            user=user,
            name=CHURN_DEMO["dataset_name"],
            filename=CHURN_DEMO["filename"],
            data=churn_csv(),
        )
    existing = Pipeline.objects.filter(workspace=workspace, name=CHURN_DEMO["name"]).first()
    if existing is not None:
        return existing
    return pipeline_create(
        workspace=workspace,
        user=user,
        name=CHURN_DEMO["name"],
        description=CHURN_DEMO["description"],
        graph=CHURN_DEMO["graph"](dataset.artifact_id),
    )
