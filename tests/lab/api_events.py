"""Engine API: /events (list with from/max/search, get, add of external events with the engine's validation and flood
regulation, soft remove) and /jobs."""

from __future__ import annotations

import datetime
import functools
from typing import Any, Callable, Optional

import ovirtsdk4.types as t

from tests.lab.api_base import RoutesBase
from tests.lab.api_common import Request, Response, action_done, ok
from tests.lab.api_xml import write
from tests.lab.errors import ApiError, incomplete, invalid, not_found
from tests.lab.model import Event, Job, new_id


SEVERITY_RANK = {"normal": 0, "warning": 1, "error": 2, "alert": 10}
# the engine's codes for external events, by severity
EXTERNAL_CODES = {"normal": 9801, "warning": 9802, "error": 9803, "alert": 9804}
DEFAULT_FLOOD_RATE = 30
INT32 = (-2 ** 31, 2 ** 31 - 1)
DUPLICATE_CUSTOM_ID = "[=Cannot add External Event. External Event with this custom id already exists.]"
ILLEGAL_ORIGIN = "[Cannot add External Event. Illegal origin.]"


class EventRoutes(RoutesBase):
    def _event_field(self, event: Event, field: str) -> Optional[list[str]]:
        host = self.model.hosts.get(event.host_id) if event.host_id else None
        vm = self.model.vms.get(event.vm_id) if event.vm_id else None
        host_names = [host.name] if host else []
        vm_names = [vm.name] if vm else []
        values: dict[str, Callable[[], list[str]]] = {
            "type": lambda: [str(event.code)], "severity": lambda: [event.severity], "origin": lambda: [event.origin],
            "custom_event_id": lambda: [str(event.custom_id)] if event.custom_id is not None else [],
            "event_host": lambda: host_names, "host.name": lambda: host_names, "event_vm": lambda: vm_names, "vm.name": lambda: vm_names,
            "message": lambda: [event.description], "time": lambda: [self.render.when(event.time).isoformat()],
        }
        getter = values.get(field)
        return getter() if getter else None

    def _event_order(self, field: str, value: str) -> Optional[float]:
        """Severity compares by rank, time as a date; everything else as a number."""
        if field == "severity":
            rank = SEVERITY_RANK.get(value.lower())
            return float(rank) if rank is not None else None
        if field == "time":
            try:
                moment = datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.timezone.utc)
            return moment.timestamp()
        try:
            return float(value)
        except ValueError:
            return None

    def r_events(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                start = request.query.get("from")
                # always newest first; ``from`` keeps indexes above it, ``max`` is a limit after the ordering
                events = list(reversed(self.model.events))
                if start is not None:
                    try:
                        first = int(start)
                    except ValueError as exc:
                        raise invalid(f"Value '{start}' of parameter 'from' isn't a valid integer") from exc
                    events = [e for e in events if e.id > first]
                events = self._filter(events, request, self._event_field, self._event_order)
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
                    # a soft delete: gone from the API, its (origin, custom_id) stays taken
                    self.model.events.remove(event)
                    return Response(200, b"")
        raise not_found()

    def _ref(self, ref: Any, find: Callable[[str], Any]) -> Optional[str]:
        if ref is None:
            return None
        found = find(ref.id or "") if ref.id else None
        if found is None and getattr(ref, "name", None):
            found = find(ref.name)
        return found.id if found is not None else None

    def add_event(self, body: t.Event) -> Response:
        """AddExternalEvent: validation (fields, origin, a custom id unique per origin), then the audit log's flood
        regulation, which drops an event like one stored less than 30 s ago unless the event gives a non-zero flood rate."""
        required = (("origin", body.origin), ("severity", body.severity), ("customId", body.custom_id), ("description", body.description))
        missing = [name for name, value in required if value in (None, "")]
        if missing:
            raise incomplete("Event", *missing)
        if body.origin.lower() == "ovirt":
            raise ApiError(400, ILLEGAL_ORIGIN)
        if not INT32[0] <= body.custom_id <= INT32[1]:
            raise invalid(f"Value '{body.custom_id}' of field 'customId' isn't a valid integer")
        if (body.origin, body.custom_id) in self.model.events_by_custom_id:
            raise ApiError(400, DUPLICATE_CUSTOM_ID)
        severity = body.severity.value
        links: dict[str, Any] = {
            "host_id": self._ref(body.host, self.model.find_host), "vm_id": self._ref(body.vm, self.model.find_vm),
            "cluster_id": self._ref(body.cluster, self.model.clusters.get),
            "data_center_id": self._ref(body.data_center, self.model.data_centers.get),
            "storage_domain_id": self._ref(body.storage_domain, self.model.find_storage_domain),
        }
        template_id = body.template.id if body.template is not None else None
        user_id = body.user.id if body.user is not None else None
        # EventFloodRegulator: an external event without a rate (0) is suppressed for 30 s; any other value means the
        # log type's own rate, which is 0 (no suppression) for every EXTERNAL_EVENT_* type
        flood_rate = DEFAULT_FLOOD_RATE if not body.flood_rate else 0
        key = (severity, links["storage_domain_id"], links["data_center_id"], user_id, links["cluster_id"], links["host_id"],
               links["vm_id"], template_id)
        now = self.engine.now()
        last = self.model.event_flood.get(key)
        if flood_rate > 0 and last is not None and now - last < flood_rate:
            # dropped, never stored; the engine then answers with the row of its (origin, custom_id) if one exists
            # (another writer's, stored meanwhile), else it fails without a detail
            existing = self.model.events_by_custom_id.get((body.origin, body.custom_id))
            if existing is not None:
                return ok(write(self.render.event(existing)), 201)
            raise ApiError(400, "")
        self.model.event_flood[key] = now
        event = self.model.add_event(EXTERNAL_CODES.get(severity, 9801), severity, body.description, now, origin=body.origin,
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
