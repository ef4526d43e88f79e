"""The generic HTTP SMS provider: what the webhook gateway sends, and how, from a TOML file.

Most RU/UA/KZ SMS gateways take one HTTP request per message: a URL, a method, some auth and
a body naming the phone and the text. ``serve --sms-provider FILE.toml`` (and ``jobs run``)
reads that from a file::

    [sms]
    url = "https://sms.example/api/send"
    method = "POST"                      # POST, PUT or GET (GET: the body is the query)
    content_type = "application/json"    # or application/x-www-form-urlencoded
    body = '{"to": "{phone_digits}", "message": "{text}", "sender": "SHOP"}'
    auth = "bearer"                      # none, bearer, basic or header
    token_env = "SMS_TOKEN"              # the secret comes from the environment, never the file
    # user = "shop"                      # basic: the user; the password is token_env's value
    # header = "X-Api-Key"               # header: the header's name; its value is token_env's
    timeout = 5.0                        # seconds per attempt
    attempts = 3                         # a network error, 429 or 5xx is tried again
    id_field = "message_id"              # the answer's JSON key naming the message (optional)
    status_field = "status"              # the answer's JSON key with the provider's verdict
    ok_statuses = ["accepted", "queued"] # verdicts that mean delivered to the provider

The body's placeholders ``{phone}`` (E.164), ``{phone_digits}`` (without the +) and ``{text}``
are filled escaped for the content type (JSON string content, or URL-encoded), so a message
cannot break the body. An answer other than 2xx, or a 2xx whose ``status_field`` is not one of
``ok_statuses``, is a failed delivery; 4xx other than 429 is not retried (the provider refused
the request itself, sending it again changes nothing).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

METHODS = ("POST", "PUT", "GET")
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
AUTHS = ("none", "bearer", "basic", "header")
DEFAULT_BODY = '{"phone": "{phone}", "text": "{text}"}'


class ProviderError(Exception):
    """A provider file the server refuses; one sentence naming the key."""


@dataclass(frozen=True)
class HttpProvider:
    """How to hand one message to an HTTP SMS provider (see the module's example)."""

    url: str
    method: str = "POST"
    content_type: str = "application/json"
    body: str = DEFAULT_BODY
    auth: str = "none"
    secret: str = field(default="", repr=False)
    user: str = ""
    header: str = ""
    timeout: float = 5.0
    attempts: int = 3
    id_field: str | None = None
    status_field: str | None = None
    ok_statuses: tuple[str, ...] = ()

    def render(self, phone: str, text: str) -> str:
        """The body (or, for GET, the query) for one message, its values escaped."""
        json_body = self.method != "GET" and self.content_type == "application/json"
        escape = _json if json_body else _url
        values = {"{phone}": phone, "{phone_digits}": phone.lstrip("+"), "{text}": text}
        out = self.body
        for name, value in values.items():
            out = out.replace(name, escape(value))
        return out

    def headers(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.method != "GET":
            found["Content-Type"] = self.content_type
        if self.auth == "bearer":
            found["Authorization"] = f"Bearer {self.secret}"
        elif self.auth == "header":
            found[self.header] = self.secret
        return found

    def basic(self) -> tuple[str, str] | None:
        return (self.user, self.secret) if self.auth == "basic" else None


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _url(value: str) -> str:
    return quote(value, safe="")


def verdict(provider: HttpProvider, answer: Any) -> tuple[bool, str | None, str | None]:
    """From a 2xx answer's JSON (or None): delivered?, the provider's message id, its status."""
    data = answer if isinstance(answer, dict) else {}
    message_id = data.get(provider.id_field) if provider.id_field else None
    status = data.get(provider.status_field) if provider.status_field else None
    ok = True
    if provider.status_field and provider.ok_statuses:
        ok = str(status) in provider.ok_statuses
    return (
        ok,
        None if message_id is None else str(message_id),
        None if status is None else str(status),
    )


def _get(table: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = table.get(key, default)
    if value is default:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProviderError(f"sms.{key} must be a {kind.__name__}.")
    return value


def parse(text: str, environ: dict[str, str] | None = None) -> HttpProvider:
    """The ``[sms]`` table of a provider file. Raises ProviderError (one sentence)."""
    env = os.environ if environ is None else environ
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProviderError(f"The provider file is not TOML: {exc}.") from None
    table = data.get("sms")
    if not isinstance(table, dict):
        raise ProviderError("The provider file needs an [sms] table.")
    known = {
        "url", "method", "content_type", "body", "auth", "token_env", "user", "header",
        "timeout", "attempts", "id_field", "status_field", "ok_statuses",
    }  # fmt: skip
    unknown = sorted(set(table) - known)
    if unknown:
        raise ProviderError(f"sms.{unknown[0]} is not a provider setting.")
    url = _get(table, "url", str, None)
    if url is None or not url.startswith(("http://", "https://")):
        raise ProviderError("sms.url must be an http(s) URL.")
    method = _get(table, "method", str, "POST").upper()
    if method not in METHODS:
        raise ProviderError(f"sms.method must be one of {', '.join(METHODS)}.")
    content_type = _get(table, "content_type", str, "application/json")
    if content_type not in CONTENT_TYPES:
        raise ProviderError(f"sms.content_type must be one of {', '.join(CONTENT_TYPES)}.")
    body = _get(table, "body", str, DEFAULT_BODY)
    if "{text}" not in body:
        raise ProviderError("sms.body must contain {text}.")
    if "{phone}" not in body and "{phone_digits}" not in body:
        raise ProviderError("sms.body must contain {phone} or {phone_digits}.")
    auth = _get(table, "auth", str, "none")
    if auth not in AUTHS:
        raise ProviderError(f"sms.auth must be one of {', '.join(AUTHS)}.")
    secret = ""
    if auth != "none":
        name = _get(table, "token_env", str, None)
        if not name:
            raise ProviderError(f"sms.token_env must name the variable holding the {auth} secret.")
        secret = env.get(name, "")
        if not secret:
            raise ProviderError(f"sms.token_env: the environment variable {name} is not set.")
    user = _get(table, "user", str, "")
    if auth == "basic" and not user:
        raise ProviderError('sms.user is needed with auth = "basic".')
    header = _get(table, "header", str, "")
    if auth == "header" and not header:
        raise ProviderError('sms.header is needed with auth = "header".')
    timeout = _get(table, "timeout", float, 5.0)
    if not 0 < timeout <= 60:
        raise ProviderError("sms.timeout must be more than 0 and at most 60 seconds.")
    attempts = _get(table, "attempts", int, 3)
    if not 1 <= attempts <= 10:
        raise ProviderError("sms.attempts must be 1 to 10.")
    ok_statuses = _get(table, "ok_statuses", list, [])
    if not all(isinstance(s, str) for s in ok_statuses):
        raise ProviderError("sms.ok_statuses must be a list of strings.")
    return HttpProvider(
        url=url, method=method, content_type=content_type, body=body, auth=auth,
        secret=secret, user=user, header=header, timeout=timeout, attempts=attempts,
        id_field=_get(table, "id_field", str, None),
        status_field=_get(table, "status_field", str, None),
        ok_statuses=tuple(ok_statuses),
    )  # fmt: skip


def load(path: Path) -> HttpProvider:
    """The provider file at ``path``. Raises ProviderError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProviderError(f"Cannot read {path}: {exc}") from None
    return parse(text)
