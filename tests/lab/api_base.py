"""Base of the engine API routes: the engine objects every route needs, list filtering, jobs."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from tests.lab.api_common import Request
from tests.lab.api_xml import Renderer
from tests.lab.engine import Engine
from tests.lab.engine_fence import Fencer
from tests.lab.errors import invalid
from tests.lab.model import Job, new_id
from tests.lab.search import Order, SearchError, compile_query, parse


class RoutesBase:
    def __init__(self, engine: Engine, fencer: Fencer, renderer: Renderer, after_action: Callable[[], None]) -> None:
        self.engine = engine
        self.model = engine.model
        self.fencer = fencer
        self.render = renderer
        self.after_action = after_action

    def _filter(self, items: list[Any], request: Request, getter: Callable[[Any, str], Optional[list[str]]],
                order: Optional[Order] = None) -> list[Any]:
        try:
            query = parse(request.query.get("search"))
            if query:
                predicate = compile_query(query, order)
                items = [item for item in items if predicate(functools.partial(getter, item))]
        except SearchError as exc:
            raise invalid(str(exc)) from exc
        limit = request.max()
        if limit is not None and limit >= 0:
            items = items[:limit]
        return items

    def _cluster_name(self, cluster_id: str) -> list[str]:
        cluster = self.model.clusters.get(cluster_id)
        return [cluster.name] if cluster else []

    def _dc_name(self, cluster_id: str) -> list[str]:
        cluster = self.model.clusters.get(cluster_id)
        dc = self.model.data_centers.get(cluster.data_center_id) if cluster else None
        return [dc.name] if dc else []

    def _tag_names(self, obj_id: str) -> list[str]:
        return [tag.name for tag in self.model.tags_of(obj_id)]

    def _job(self, description: str) -> None:
        now = self.engine.now()
        job = Job(id=new_id(), description=description, status="finished", start_time=now, end_time=now, last_updated=now)
        self.model.jobs[job.id] = job
        if len(self.model.jobs) > 1000:
            self.model.jobs.pop(next(iter(self.model.jobs)))
