"""The pipelines list page: every pipeline of the user's workspaces with its last run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.shortcuts import render
from django.urls import path

from ..models import Pipeline
from ..selectors.pipelines import pipeline_list
from .common import can_edit, page


@dataclass
class PipelineListView:
    """Context of ``pages/pipeline_list.html``."""

    pipelines: list[Pipeline]
    # Workspace chips only when the list mixes workspaces.
    show_workspace: bool

    @classmethod
    def build(cls, pipelines: list[Pipeline], user) -> PipelineListView:
        for pipeline in pipelines:
            graph = pipeline.graph if isinstance(pipeline.graph, dict) else {}
            pipeline.node_count = len(graph.get("nodes", []))
            # Rename / duplicate / delete are offered to editors only (roles are read once per request).
            pipeline.can_edit = can_edit(user, pipeline.workspace_id)
        return cls(pipelines=pipelines, show_workspace=len({p.workspace_id for p in pipelines}) > 1)

    def context(self) -> dict[str, Any]:
        return {"nav": "pipelines", "pipelines": self.pipelines, "show_workspace": self.show_workspace}


@page
def pipeline_list_page(request):
    view = PipelineListView.build(list(pipeline_list(user=request.user)), request.user)
    return render(request, "pages/pipeline_list.html", view.context())


urlpatterns = [
    path("pipelines/", pipeline_list_page, name="page-pipelines"),
]
