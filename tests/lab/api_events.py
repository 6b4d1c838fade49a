"""Engine API: /events (list, get, add with custom_id idempotence, remove) and /jobs."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import ovirtsdk4.types as t

from tests.lab.api_base import RoutesBase
from tests.lab.api_common import Request, Response, action_done, ok
from tests.lab.api_xml import write
from tests.lab.errors import incomplete, invalid, not_found
from tests.lab.model import Event, Job, new_id


class EventRoutes(RoutesBase):
    def _event_field(self, event: Event, field: str) -> Optional[list[str]]:
        host = self.model.hosts.get(event.host_id) if event.host_id else None
        vm = self.model.vms.get(event.vm_id) if event.vm_id else None
        values: dict[str, Callable[[], list[str]]] = {
            "code": lambda: [str(event.code)], "severity": lambda: [event.severity], "host": lambda: [host.name] if host else [],
            "vm": lambda: [vm.name] if vm else [], "origin": lambda: [event.origin], "id": lambda: [str(event.id)],
            "custom_id": lambda: [str(event.custom_id)] if event.custom_id is not None else [],
            "custom_event_id": lambda: [str(event.custom_id)] if event.custom_id is not None else [],
            "type": lambda: [str(event.code)],
        }
        getter = values.get(field)
        return getter() if getter else None

    def r_events(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                start = request.query.get("from")
                events = list(reversed(self.model.events))
                if start is not None:
                    try:
                        first = int(start)
                    except ValueError as exc:
                        raise invalid(f"Value '{start}' of parameter 'from' isn't a valid integer") from exc
                    events = [e for e in events if e.id > first]
                events = self._filter(events, request, self._event_field)
                return ok(self.render.write_list("events", (self.render.write_one(e, functools.partial(self.render.event, e), "plain")
                                                            for e in events)))
            if not rest and method == "POST":
                return self.add_event(request.read(t.Event))
            if len(rest) == 1:
                try:
                    index = int(rest[0])
                except ValueError as exc:
                    raise not_found() from exc
                event = next((e for e in self.model.events if e.id == index), None)
                if event is None:
                    raise not_found()
                if method == "GET":
                    return ok(write(self.render.event(event)))
                if method == "DELETE":
                    self.model.events.remove(event)
                    return Response(200, b"")
        raise not_found()

    def add_event(self, body: t.Event) -> Response:
        missing = [name for name in ("description", "severity", "origin") if getattr(body, name) in (None, "")]
        if missing:
            raise incomplete("Event", *missing)
        if body.custom_id is not None and body.custom_id in self.model.events_by_custom_id:
            existing = self.model.events_by_custom_id[body.custom_id]
            if existing in self.model.events:
                return ok(write(self.render.event(existing)), 200)
        links: dict[str, Any] = {}
        if body.host is not None:
            host = self.model.hosts.get(body.host.id or "") or self.model.find_host(body.host.name or "")
            links["host_id"] = host.id if host else None
        if body.vm is not None:
            vm = self.model.vms.get(body.vm.id or "") or self.model.find_vm(body.vm.name or "")
            links["vm_id"] = vm.id if vm else None
        event = self.model.add_event(body.code if body.code is not None else 9801 if body.severity.value == "normal" else 9802,
                                     body.severity.value, body.description, self.engine.now(), origin=body.origin,
                                     custom_id=body.custom_id, flood_rate=body.flood_rate or 0, **links)
        return ok(write(self.render.event(event)), 201)

    def r_jobs(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                jobs = self._filter(list(reversed(list(self.model.jobs.values()))), request,
                                    lambda j, f: {"description": [j.description], "status": [j.status], "id": [j.id]}.get(f))
                return ok(self.render.write_list("jobs", (write(self.render.job(j)) for j in jobs)))
            if not rest and method == "POST":
                body: t.Job = request.read(t.Job)
                if not body.description:
                    raise incomplete("Job", "description")
                now = self.engine.now()
                job = Job(id=new_id(), description=body.description, status="started", start_time=now, last_updated=now, external=True,
                          auto_cleared=bool(body.auto_cleared))
                self.model.jobs[job.id] = job
                return ok(write(self.render.job(job)), 201)
            job_obj = self.model.jobs.get(rest[0]) if rest else None
            if job_obj is None:
                raise not_found()
            if len(rest) == 1 and method == "GET":
                return ok(write(self.render.job(job_obj)))
            if len(rest) == 2 and method == "POST" and rest[1] in ("end", "clear"):
                body_action = request.read(t.Action) if request.body.strip() else t.Action()
                job_obj.status = "finished" if body_action.succeeded is not False else "failed"
                job_obj.end_time = self.engine.now()
                return action_done()
        raise not_found()
