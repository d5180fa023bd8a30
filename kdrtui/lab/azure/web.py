"""The HTTP shapes the emulator's handlers share: a parsed request, a response, ARM errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class ArmError(Exception):
    """An ARM error answer: ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        """The error as a response."""
        body = {"error": {"code": self.code, "message": self.message}}
        return Response(self.status, body, headers=dict(self.headers))


def not_found(kind: str, name: str, code: str = "ResourceNotFound") -> ArmError:
    """404 for a resource that does not exist."""
    return ArmError(404, code, f"The {kind} '{name}' was not found.")


@dataclass
class Request:
    """One request as the handlers see it (the body is parsed JSON, or None)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    #: ``https://127.0.0.1:<port>``: absolute URLs in headers and bodies start with it.
    base_url: str
    #: Named groups of the route's pattern.
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """A header's value ("" when absent), matched case-insensitively."""
        return self.headers.get(name.lower(), "")

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; 400 ``InvalidRequestContent`` otherwise."""
        if not isinstance(self.body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return self.body

    @property
    def api_version(self) -> str:
        """The ``api-version`` query parameter."""
        return self.query.get("api-version", "")


@dataclass
class Response:
    """An answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The body as bytes (empty when there is none)."""
        return b"" if self.body is None else json.dumps(self.body).encode()


def as_dict(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (request bodies are untrusted)."""
    return value if isinstance(value, dict) else {}
