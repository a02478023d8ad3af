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
    PredictionLogHour,
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
    "PredictionLogHour",
    "RegisteredModel",
    "RevisionAction",
    "Task",
]

from .connection import Connection, ConnectionKind  # noqa: E402

__all__ += ["Connection", "ConnectionKind"]

from .alerts import (  # noqa: E402
    Alert,
    AlertDelivery,
    AlertRule,
    AlertStatus,
    DeliveryKind,
    DeliveryStatus,
    RetrainPolicy,
    RetrainRun,
    Signal,
)

__all__ += [
    "Alert",
    "AlertDelivery",
    "AlertRule",
    "AlertStatus",
    "DeliveryKind",
    "DeliveryStatus",
    "RetrainPolicy",
    "RetrainRun",
    "Signal",
]
from .monitoring import (  # noqa: E402
    MonitoringReference,
    MonitoringWindow,
    ReferenceKind,
    WindowSize,
    WindowStatus,
)

__all__ += ["MonitoringReference", "MonitoringWindow", "ReferenceKind", "WindowSize", "WindowStatus"]
from .delivery import (  # noqa: E402
    GateEvaluation,
    ModelAlias,
    PromotionEvent,
    ShadowPrediction,
    TrafficChange,
)

__all__ += ["GateEvaluation", "ModelAlias", "PromotionEvent", "ShadowPrediction", "TrafficChange"]
from .automation import PipelineTrigger, Schedule, TriggerFiring, TriggerKind  # noqa: E402

__all__ += ["PipelineTrigger", "Schedule", "TriggerFiring", "TriggerKind"]
from .audit import AuditEvent, AuditHead, ModelCardRevision  # noqa: E402

__all__ += ["AuditEvent", "AuditHead", "ModelCardRevision"]
