from .artifact import Artifact, Dataset
from .pipeline import Pipeline, PipelineVersion
from .run import Run, RunStatus, StepRun, StepStatus, Trigger
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
    "Trigger",
    "Workspace",
]
