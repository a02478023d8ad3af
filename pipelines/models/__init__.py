from .artifact import Artifact, Dataset
from .pipeline import Pipeline, PipelineVersion
from .run import Run, RunStatus, StepRun, StepStatus, StepTrial, Trigger
from .workspace import Membership, Role, Workspace

__all__ = [
    "Artifact",
    "Dataset",
    "Membership",
    "Pipeline",
    "PipelineVersion",
    "Role",
    "Run",
    "RunStatus",
    "StepRun",
    "StepStatus",
    "StepTrial",
    "Trigger",
    "Workspace",
]

from .registry import (  # noqa: E402
    Deployment,
    DeploymentKey,
    DeploymentRevision,
    ModelVersion,
    PredictionLog,
    RegisteredModel,
    RevisionAction,
    Task,
)

__all__ += [
    "Deployment",
    "DeploymentKey",
    "DeploymentRevision",
    "ModelVersion",
    "PredictionLog",
    "RegisteredModel",
    "RevisionAction",
    "Task",
]

from .connection import Connection, ConnectionKind  # noqa: E402

__all__ += ["Connection", "ConnectionKind"]

from .automation import PipelineTrigger, Schedule, TriggerFiring, TriggerKind  # noqa: E402

__all__ += ["PipelineTrigger", "Schedule", "TriggerFiring", "TriggerKind"]
