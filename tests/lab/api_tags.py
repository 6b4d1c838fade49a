"""Engine API: /tags (the tag tree under ``root``) and the tags assigned to hosts and VMs (/hosts/{id}/tags, /vms/{id}/tags)."""

from __future__ import annotations

import re
from typing import Optional

import ovirtsdk4.types as t

from tests.lab.api_base import RoutesBase
from tests.lab.api_common import Request, Response, ok
from tests.lab.api_xml import API, write
from tests.lab.errors import ApiError, conflict, incomplete, not_found
from tests.lab.model import ROOT_TAG_ID, Tag, new_id

TAG_NAME = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
MAX_DESCRIPTION = 4000
DUPLICATE_NAME = "The specified Tag name already exists."


class TagRoutes(RoutesBase):
    def _tag(self, tag: Tag, owner: Optional[tuple[str, str]] = None) -> t.Tag:
        obj = t.Tag(id=tag.id, name=tag.name, description=tag.description)
        if tag.parent_id is not None:
            obj.parent = t.Tag(id=tag.parent_id)
            obj.parent.href = f"{API}/tags/{tag.parent_id}"
        if owner is None:
            obj.href = f"{API}/tags/{tag.id}"
            return obj
        kind, obj_id = owner
        if kind == "hosts":
            obj.host = t.Host(id=obj_id)
            obj.host.href = f"{API}/hosts/{obj_id}"
        else:
            obj.vm = t.Vm(id=obj_id)
            obj.vm.href = f"{API}/vms/{obj_id}"
        obj.href = f"{API}/{kind}/{obj_id}/tags/{tag.id}"
        return obj

    def _check_tag(self, name: Optional[str], description: Optional[str], verb: str, same: Optional[Tag] = None) -> None:
        if name is not None and not TAG_NAME.match(name):
            raise ApiError(400, f"[Cannot {verb} Tag. The tag name must be 1 to 50 letters, digits, '-' or '_'.]", reason="Invalid value")
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise ApiError(400, f"[Cannot {verb} Tag. The description must be at most {MAX_DESCRIPTION} characters long.]",
                           reason="Invalid value")
        # no unique constraint in the database: the command looks the name up
        if name is not None and any(tag.name == name and tag is not same for tag in self.model.tags.values()):
            raise conflict(DUPLICATE_NAME)

    def _parent(self, ref: Optional[t.Tag]) -> str:
        if ref is None or (ref.id is None and ref.name is None):
            return ROOT_TAG_ID
        parent = self.model.tags.get(ref.id) if ref.id else self.model.find_tag(ref.name or "")
        if parent is None:
            raise not_found(f"Entity not found: {ref.id or ref.name}")
        return parent.id

    def r_tags(self, method: str, rest: list[str], request: Request) -> Response:
        with self.model.lock:
            if not rest and method == "GET":
                tags = self._filter(list(self.model.tags.values()), request, lambda g, f: {"name": [g.name], "id": [g.id]}.get(f))
                return ok(self.render.write_list("tags", (write(self._tag(tag)) for tag in tags)))
            if not rest and method == "POST":
                body: t.Tag = request.read(t.Tag)
                if not body.name:
                    raise incomplete("Tag", "name")
                self._check_tag(body.name, body.description, "add")
                tag = Tag(id=new_id(), name=body.name, description=body.description or "", parent_id=self._parent(body.parent))
                self.model.tags[tag.id] = tag
                return ok(write(self._tag(tag)), 201)
            found = self.model.tags.get(rest[0]) if len(rest) == 1 else None
            if found is None:
                raise not_found()
            if method == "GET":
                return ok(write(self._tag(found)))
            if method == "PUT":
                # last writer wins: tags have no version to check
                update: t.Tag = request.read(t.Tag)
                self._check_tag(update.name if update.name != found.name else None, update.description, "edit", found)
                if update.name:
                    found.name = update.name
                if update.description is not None:
                    found.description = update.description
                if update.parent is not None and found.id != ROOT_TAG_ID:
                    parent_id = self._parent(update.parent)
                    if parent_id == found.id or found.id in self._ancestors(parent_id):
                        raise conflict("Cannot edit Tag. A tag cannot be moved below itself.")
                    found.parent_id = parent_id
                return ok(write(self._tag(found)))
            if method == "DELETE":
                if found.id == ROOT_TAG_ID:
                    raise conflict("Cannot remove Tag. The root tag cannot be removed.")
                self._remove_tag(found)
                return Response(200, b"")
        raise not_found()

    def _ancestors(self, tag_id: str) -> list[str]:
        chain: list[str] = []
        current = self.model.tags.get(tag_id)
        while current is not None and current.parent_id is not None and len(chain) < len(self.model.tags):
            chain.append(current.parent_id)
            current = self.model.tags.get(current.parent_id)
        return chain

    def _remove_tag(self, tag: Tag) -> None:
        """The tag, every tag below it, and their assignments."""
        doomed = {tag.id} | {other.id for other in self.model.tags.values() if tag.id in self._ancestors(other.id)}
        for tag_id in doomed:
            self.model.tags.pop(tag_id, None)
        for obj_id, assigned in list(self.model.assigned_tags.items()):
            kept = [tag_id for tag_id in assigned if tag_id not in doomed]
            if kept:
                self.model.assigned_tags[obj_id] = kept
            else:
                del self.model.assigned_tags[obj_id]

    def assigned_tags(self, kind: str, obj_id: str, method: str, rest: list[str], request: Request) -> Response:
        """/hosts/{id}/tags and /vms/{id}/tags: list, assign (by id or name), get, unassign.  The caller holds the lock."""
        owner = (kind, obj_id)
        if not rest and method == "GET":
            return ok(self.render.write_list("tags", (write(self._tag(tag, owner)) for tag in self.model.tags_of(obj_id))))
        if not rest and method == "POST":
            body: t.Tag = request.read(t.Tag)
            if not body.id and not body.name:
                raise incomplete("Tag", "id|name")
            tag = self.model.tags.get(body.id) if body.id else self.model.find_tag(body.name or "")
            if tag is None:
                raise not_found(f"Entity not found: {body.id or body.name}")
            assigned = self.model.assigned_tags.setdefault(obj_id, [])
            if tag.id not in assigned:
                assigned.append(tag.id)
            # assigning a tag that is already assigned succeeds silently
            return ok(write(self._tag(tag, owner)), 201)
        if len(rest) == 1 and rest[0] in self.model.assigned_tags.get(obj_id, []):
            tag = self.model.tags[rest[0]]
            if method == "GET":
                return ok(write(self._tag(tag, owner)))
            if method == "DELETE":
                self.model.assigned_tags[obj_id].remove(tag.id)
                if not self.model.assigned_tags[obj_id]:
                    del self.model.assigned_tags[obj_id]
                return Response(200, b"")
        raise not_found()
