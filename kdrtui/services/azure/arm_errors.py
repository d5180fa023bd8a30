"""Azure errors as an operator reads them: ``CODE: message``, never a request's headers or body."""

from __future__ import annotations


def arm_error_text(exc: BaseException) -> str:
    """``CODE: message`` for an ARM error (``HttpResponseError``), else the exception's own text.

    The ARM error body is ``{"error": {"code", "message"}}``; azure-core parses it into ``exc.error``.
    When it could not (a non-JSON body), the HTTP status and reason are shown. The exception's ``str()``
    is not used for ARM errors: it can carry the whole response, and is several lines long.
    """
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, HttpResponseError):
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None)
        message = getattr(error, "message", None)
        if code or message:
            text = f"{code or 'Error'}: {_one_line(message or '')}"
            details = [d for d in getattr(error, "details", None) or [] if getattr(d, "code", None)]
            for detail in details[:3]:
                text += f" ({detail.code}: {_one_line(detail.message or '')})"
            return text
        status = getattr(exc, "status_code", None)
        reason = getattr(exc, "reason", None) or ""
        if status is not None:
            return f"HTTP {status}{f' {reason}' if reason else ''}: {_one_line(exc.message or '')}".rstrip(
                ": "
            )
        if isinstance(exc, ClientAuthenticationError):
            return f"authentication failed: {_one_line(exc.message or str(exc))}"
        return _one_line(exc.message or str(exc))
    return f"{type(exc).__name__}: {_one_line(str(exc))}"


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:500]
