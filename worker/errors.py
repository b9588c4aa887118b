"""The one exception tree of the worker side.

Each branch is a decision the worker makes, so tasks catch by branch and never by
HTTP status or by a third-party exception type::

    JobfleetError
     ├── ConfigError              settings missing or invalid: fail the job now, say which
     ├── LeaseLost                another worker took the step over: stop, record nothing
     └── ProviderError            a platform call went wrong (provider, status, body excerpt)
          ├── TransientError      connection, timeout, 429, 5xx: try again later
          │    ├── RateLimited    429; ``retry_after`` is the platform's hint
          │    ├── Throttled      our own fleet-wide limiter said wait; costs no error budget
          │    └── BadResponse    2xx with garbage (not JSON, wrong shape, unknown status);
          │                       retried a bounded number of times, then fails the job
          │                       with the raw detail
          └── PermanentError      400/404/409/422…: fail the job now with the platform's message
               ├── AuthError      401/403: fail fast with the reason, never retried
               ├── OverBudget     the quote exceeds the job's price ceiling
               └── UnsafeAnswer   an answer that could harm us: a body past the size bound,
                                  a redirect taking our credentials elsewhere, a file name
                                  that would escape a directory

Every ``ProviderError`` also says whether its request went unanswered (``unanswered``): sent,
perhaps acted on by the platform, and no usable answer came back (a timeout after sending, a
dropped connection, a 2xx we cannot read). The HTTP layer states it; a create that fails
this way may have created the remote job, one that fails any other way created nothing.

Messages carry at most a short excerpt of a response body and never a credential:
:func:`redact` is applied to every excerpt.
"""

from __future__ import annotations

import re

BODY_EXCERPT_CHARS = 300  # enough to read a platform's message, short enough for a log line

_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:token|password|api[_-]?key|secret|authorization|signature|credential)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"),  # JWT-shaped strings
)


def redact(text: str) -> str:
    """Masks anything that looks like a credential in ``text``."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


def excerpt(body: str | bytes | None) -> str:
    """A redacted, single-line excerpt of a response body for messages."""
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    flat = " ".join(body.split())
    if len(flat) > BODY_EXCERPT_CHARS:
        flat = flat[:BODY_EXCERPT_CHARS] + "…"
    return redact(flat)


class JobfleetError(Exception):
    """Root of every error jobfleet raises on purpose."""


class ConfigError(JobfleetError):
    """A setting the job needs is missing or invalid."""


class LeaseLost(JobfleetError):
    """This worker no longer holds the step's lease; whoever took it over carries on.

    Raised by an upload's fence between parts, so a step that outlived its lease never
    completes a second file; the step then ends without touching the job record.
    """


class ProviderError(JobfleetError):
    """A platform call failed. ``reason`` is a short machine-readable word for the job record.

    ``unanswered`` is true when the request was sent and got no usable answer, so the
    platform may have acted on it; false when it never left or the platform said no.
    """

    reason = "provider_error"
    unanswered_by_default = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        body: str | bytes | None = None,
        unanswered: bool | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.unanswered = self.unanswered_by_default if unanswered is None else unanswered
        self.body = excerpt(body)
        self.message = redact(message)
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line for the job record: provider, status, message and body excerpt."""
        parts = [self.provider]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        text = f"{' '.join(parts)}: {self.message}"
        if self.body and self.body not in self.message:
            text += f" — {self.body}"
        return text


class TransientError(ProviderError):
    """Worth trying again later: the platform or the network is momentarily unwell."""

    reason = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class RateLimited(TransientError):
    """HTTP 429; ``retry_after`` holds the platform's Retry-After in seconds, if it sent one."""

    reason = "rate_limited"


class Throttled(TransientError):
    """Our fleet-wide limiter has no request slot soon enough; nothing was sent.

    Not a failure of the job: the step is rescheduled after ``retry_after`` without counting
    against its error budget.
    """

    reason = "throttled"


class BadResponse(TransientError):
    """A success status with a body we cannot use (not JSON, wrong shape, unknown status).

    Unanswered by default: the platform accepted the request, we cannot read what it did.
    """

    reason = "bad_response"
    unanswered_by_default = True


class PermanentError(ProviderError):
    """Retrying cannot help: the request itself is wrong, or the resource is gone."""

    reason = "rejected"


class AuthError(PermanentError):
    """The platform refused our credentials (401/403)."""

    reason = "auth"


class UnsafeAnswer(PermanentError):
    """The platform's answer is refused for our own safety; asking again would get the same.

    Unanswered: the platform did answer, but we would not read what it did.
    """

    reason = "unsafe_answer"
    unanswered_by_default = True


class OverBudget(PermanentError):
    """The platform's quote is above the job's price ceiling; the quote is left unconfirmed."""

    reason = "over_budget"

    def __init__(self, *, provider: str, remote_id: str, price: float, ceiling: float) -> None:
        self.remote_id = remote_id
        self.price = price
        self.ceiling = ceiling
        super().__init__(f"quoted {price:g} is above the ceiling {ceiling:g}", provider=provider)
