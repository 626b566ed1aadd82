"""Check a service's `POST mail/`: every field, control characters, and the size limits.

A refusal is a `MailRefused` carrying its HTTP status and the JSON the API answers with, so the
view only turns it into a response. Header-bound fields (subject, addresses, `response_id`)
refuse every control character: CR and LF would add headers, and the others (NUL, VT, FS,
NEL, U+2028, ...) are dropped, kept or taken for line breaks differently by each mail system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.datastructures import MultiValueDict

from plugit.exceptions import PlugItError

from .conf import MailSettings

__all__ = [
    "MailForm",
    "MailFormError",
    "MailLimitError",
    "MailRefused",
    "check_length",
    "control_character",
    "read_form",
]

BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
BOOLEANS |= {"false": False, "0": False, "no": False, "off": False, "": False}
MAX_RESPONSE_ID = 255
FIELDS_ROOM = 64 * 1024  # the request's fields other than the message
# C0 controls, DEL, C1 controls (NEL among them), and the Unicode line and paragraph separators.
HEADER_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# In a body, line breaks and tabs are text; the other controls are not.
BODY_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MailRefused(PlugItError):
    """`POST mail/` refused; `status` and `json()` are what the API answers."""

    status = 400

    def json(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": str(self)}


class MailFormError(MailRefused):
    """A field of `POST mail/` is missing or wrong; `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field

    def json(self) -> dict[str, Any]:
        """The error and the field."""
        return {"error": str(self), "field": self.field}


class MailLimitError(MailRefused):
    """A limit of the platform refused the mail; `limit` names its setting."""

    def __init__(
        self, limit: str, problem: str, *, status: int, field: str = "", retry_after: int = 0
    ) -> None:
        super().__init__(f"{problem} ({limit})")
        self.limit, self.field, self.status = limit, field, status
        self.retry_after = retry_after

    def json(self) -> dict[str, Any]:
        """The error, the limit's setting, and the field when one is to blame."""
        body: dict[str, Any] = {"error": str(self), "limit": self.limit}
        return body | ({"field": self.field} if self.field else {})


@dataclass(frozen=True, kw_only=True)
class MailForm:
    """A checked `POST mail/` request (`sender` empty: the platform's own address)."""

    sender: str
    subject: str
    message: str
    dests: tuple[str, ...]
    html: bool = False
    response_id: str = ""


def control_character(value: str, *, body: bool = False) -> str | None:
    """The first control character of `value` (as `U+XXXX`), or None when it has none."""
    found = (BODY_CONTROLS if body else HEADER_CONTROLS).search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _no_controls(field: str, value: str, *, body: bool = False) -> str:
    char = control_character(value, body=body)
    if char is not None:
        raise MailFormError(field, f"control characters are not allowed (found {char})")
    return value


def _address(field: str, value: str) -> str:
    _no_controls(field, value)
    pairs = getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1]:
        raise MailFormError(field, f"{value!r} is not one e-mail address")
    try:
        validate_email(pairs[0][1])
    except ValidationError:
        raise MailFormError(field, f"{value!r} is not a valid e-mail address") from None
    return value.strip()


def _dests(form: MultiValueDict[str, str], conf: MailSettings) -> tuple[str, ...]:
    dests = [dest for dest in form.getlist("dests") if dest.strip()]
    if not dests:
        raise MailFormError("dests", "give at least one recipient")
    if len(dests) > conf.max_recipients:
        raise MailLimitError(
            "PLUGIT_MAIL_MAX_RECIPIENTS",
            f"{len(dests)} recipients, at most {conf.max_recipients} per mail",
            status=400,
            field="dests",
        )
    return tuple(_address("dests", dest) for dest in dests)


def _message(form: MultiValueDict[str, str], conf: MailSettings) -> str:
    message = form.get("message")
    if message is None:
        raise MailFormError("message", "the field is required")
    size = len(message.encode("utf-8", "surrogatepass"))
    if size > conf.max_message_size:
        raise MailLimitError(
            "PLUGIT_MAIL_MAX_MESSAGE_SIZE",
            f"the message has {size} bytes, at most {conf.max_message_size}",
            status=413,
            field="message",
        )
    return _no_controls("message", message, body=True)


def read_form(form: MultiValueDict[str, str], conf: MailSettings) -> MailForm:
    """Check the fields of `POST mail/`; raise `MailRefused` naming the first bad one."""
    subject = form.get("subject")
    if subject is None:
        raise MailFormError("subject", "the field is required")
    _no_controls("subject", subject)
    message = _message(form, conf)
    dests = _dests(form, conf)
    html = BOOLEANS.get((form.get("html_message") or "").strip().lower())
    if html is None:
        raise MailFormError("html_message", "say True or False")
    response_id = _no_controls("response_id", form.get("response_id") or "")
    if len(response_id) > MAX_RESPONSE_ID:
        raise MailFormError("response_id", f"at most {MAX_RESPONSE_ID} characters")
    sender = (form.get("sender") or "").strip()
    return MailForm(
        sender=_address("sender", sender) if sender else "",
        subject=subject,
        message=message,
        dests=dests,
        html=html,
        response_id=response_id,
    )


def check_length(content_length: str | None, conf: MailSettings) -> None:
    """Refuse (413) a request body larger than a message at its limit and the other fields."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return
    limit = conf.max_message_size + FIELDS_ROOM
    if length > limit:
        raise MailLimitError(
            "PLUGIT_MAIL_MAX_MESSAGE_SIZE",
            f"the request has {length} bytes, at most {limit}",
            status=413,
        )
