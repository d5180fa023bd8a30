"""Pass 1 of reading a plan: refuse what no plan may hold, wherever it is — keys that look like secrets
(``password``, ``token``...), keys and strings with control characters, integers beyond 64 bits and
tables or arrays nested too deep.

:func:`strip_refused` reads the raw TOML data (see :func:`kdrtui.domain.plan.parse_plan`) and returns a
copy without them: refused keys are removed and refused values become ``None``, so later passes (and
their messages) never meet them and list indices stay put. Each refusal is a (key path, message) pair.
"""

from __future__ import annotations

import re
from typing import Any

from kdrtui.domain.plan_problems import Found
from kdrtui.domain.safe_text import first_unsafe, shown_int
from kdrtui.domain.toml_limits import INT_MAX, INT_MIN, MAX_NESTING, NESTING_MESSAGE
from kdrtui.domain.toml_lines import KeyPath

_SECRET_WORDS = re.compile(r"password|secret|token|key", re.IGNORECASE)
_SECRET_MESSAGE = (
    "secrets are never stored in the plan; name an environment variable (e.g. login_password_env) "
    "or use a key file/ssh-agent"
)
_SECRET_ALLOWED = frozenset({"key_file", "password_file", "mirrormaker_password_file", "keytab"})
"""Keys that name a file holding a secret (read when used), not a secret."""


def _looks_secret(key: str) -> bool:
    # A key that *names* an environment variable holds no secret.
    return bool(_SECRET_WORDS.search(key)) and key not in _SECRET_ALLOWED and not key.endswith("_env")


def _control_message(text: str, what: str) -> str | None:
    # A tab or newline is as unwelcome as an escape sequence: no plan value needs one, and each would
    # reach a terminal, a MirrorMaker properties file or a shell command as it is.
    unsafe = first_unsafe(text)
    if unsafe is None:
        return None
    char, position = unsafe
    return f"control characters are not allowed{what} ({char} at position {position})"


def strip_refused(value: Any, path: KeyPath, found: Found) -> Any:
    """Copy ``value`` without what no plan may hold (see the module doc), recording each refusal.

    Recursion is bounded: a table or array deeper than :data:`MAX_NESTING` is refused, not entered.
    """
    if isinstance(value, str):
        message = _control_message(value, "")
        if message is not None:
            found.append((path, message))
            return None
        return value
    if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        found.append(
            (path, f"{shown_int(value)} is out of range; TOML integers are 64-bit ({INT_MIN} to {INT_MAX})")
        )
        return None
    if not isinstance(value, list | dict):
        return value
    if len(path) > MAX_NESTING:
        found.append((path, NESTING_MESSAGE))
        return None
    if isinstance(value, list):
        return [strip_refused(item, (*path, n), found) for n, item in enumerate(value)]
    kept: dict[str, Any] = {}
    for key, item in value.items():
        where = (*path, key)
        message = _control_message(key, " in a key")
        # The keys of [clusters] are aliases the user chose ("monkey" is fine), not settings.
        if message is None and path != ("clusters",) and _looks_secret(key):
            message = _SECRET_MESSAGE
        if message is not None:
            found.append((where, message))
            continue
        kept[key] = strip_refused(item, where, found)
    return kept
