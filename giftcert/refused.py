"""`Refused`: a request refused in the words a site answers with. `status` is the HTTP status
(4xx, or 503 when a shared resource is busy), `message` what to do in plain words, `field` the
input it is about, `code` a name a program can test (often the contract error's), `details`
the values behind it.

One shape for the SDK's relay (`giftcert.relay.RelayRefused`) and the site
(`webapp.errors.ApiError`, which sends it as JSON), so the site passes a relay refusal on as it
came."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A refusal a site answers with HTTP `status`: `message`, `field`, `code`, `details`."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code
        self.details = details or {}
