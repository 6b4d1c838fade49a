"""Errors the lab engine answers with, in the engine's own form."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answer: 404 has an empty body, others carry a <fault>."""

    def __init__(self, status: int, detail: str = "", reason: str = "Operation Failed") -> None:
        super().__init__(detail or reason)
        self.status = status
        self.reason = reason
        self.detail = detail


def not_found(detail: str = "") -> ApiError:
    """404: an unknown id in the path has an empty body; an unknown reference in a request body says which."""
    return ApiError(404, detail, reason="Resource Not Found" if detail else "Operation Failed")


def conflict(*messages: str) -> ApiError:
    """409 with the engine's wording: the detail lists the validation messages in brackets."""
    return ApiError(409, "[" + "]\n[".join(messages) + "]")


def incomplete(entity: str, *fields: str) -> ApiError:
    return ApiError(400, f"{entity} [{', '.join(fields)}] required for {entity.split(' ')[0].lower()}", reason="Incomplete parameters")


def invalid(detail: str) -> ApiError:
    return ApiError(400, detail, reason="Invalid value")
