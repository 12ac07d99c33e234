"""Mailchimp Marketing API emulator, write side (``/mailchimp`` stands for
``https://us1.api.mailchimp.com``). Mailchimp has no world table: audiences exist only as created
through the API.

Endpoints (all under ``/3.0``): ``GET /ping``; ``GET|POST /lists``; ``GET /lists/{list_id}``;
``POST /lists/{list_id}`` (batch subscribe/unsubscribe, at most 500 members, 200 with per-member
``errors``); ``GET|POST /lists/{list_id}/members``; ``GET|PUT|PATCH|DELETE
/lists/{list_id}/members/{subscriber_hash}`` (hash = MD5 of the lowercase email; DELETE archives);
``POST .../members/{subscriber_hash}/actions/delete-permanent``; ``POST .../members/{hash}/tags``.

Auth is HTTP Basic with any user name and the API key as password (or ``Bearer <key>``). Errors
are ``application/problem+json`` documents ``{type, title, status, detail, instance}``. Rules
kept: a member who unsubscribed (or was cleaned) is in a compliance state and cannot be set back
to ``subscribed`` ("Member In Compliance State"; ``pending`` re-confirms); permanently deleted
addresses cannot be re-imported; fake or malformed addresses are rejected. In realistic mode more
than 10 simultaneous requests get a 429.

State document ``mailchimp``::

    {"seq": int,
     "lists": {list_id: {id, web_id, name, contact, permission_reminder, campaign_defaults,
                         email_type_option, double_optin, visibility, date_created, ...,
                         "members": {subscriber_hash: {id, email_address, status, merge_fields,
                                     tags: [name], language, vip, email_type, timestamp_signup,
                                     timestamp_opt, last_changed, source, web_id,
                                     unique_email_id}},
                         "forgotten": [subscriber_hash]}}}
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from pipelines.sandbox.emulator import Emulator, EmulatorContext
from pipelines.sandbox.http import Request, Response
from pipelines.sandbox.ratelimit import FAST_FACTOR, RateLimitMode

ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
MAX_BATCH = 500
MAX_COUNT = 1000
DEFAULT_COUNT = 10
MAX_CONNECTIONS = 10
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
COMPLIANCE_STATES = ("unsubscribed", "cleaned")
# Mailchimp rejects addresses at reserved or throwaway domains as "fake or invalid".
FAKE_DOMAINS = frozenset(
    {"example.com", "example.net", "example.org", "test.com", "mailinator.com", "invalid"}
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
DEFAULT_MERGE_FIELDS = {"FNAME": "", "LNAME": "", "ADDRESS": "", "PHONE": "", "BIRTHDAY": ""}
LIST_REQUIRED = ("name", "contact", "permission_reminder", "campaign_defaults", "email_type_option")
CONTACT_REQUIRED = ("company", "address1", "city", "country")
DEFAULTS_REQUIRED = ("from_name", "from_email", "subject", "language")


class MailchimpError(Exception):
    """An error that becomes a Mailchimp problem document."""

    def __init__(
        self, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors

    def response(self) -> Response:
        """The error as an HTTP response."""
        body: dict[str, Any] = {
            "type": ERROR_DOCS,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": str(uuid.uuid4()),
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return Response(
            self.status, orjson.dumps(body), {}, "application/problem+json; charset=utf-8"
        )


def invalid_resource(errors: list[dict[str, str]], detail: str | None = None) -> MailchimpError:
    """Mailchimp's 400 "Invalid Resource" with field errors."""
    return MailchimpError(
        400,
        "Invalid Resource",
        detail
        or "The resource submitted could not be validated. For field-specific details, see the "
        "'errors' array.",
        errors,
    )


def not_found() -> MailchimpError:
    """Mailchimp's 404."""
    return MailchimpError(404, "Resource Not Found", "The requested resource could not be found.")


def subscriber_hash(email: str) -> str:
    """MD5 of the lowercase address (Mailchimp's member id)."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def email_problem(email: Any) -> str | None:
    """Why Mailchimp rejects an address, or None."""
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        return "Please provide a valid email address."
    domain = email.strip().rsplit("@", 1)[1].lower()
    if domain in FAKE_DOMAINS or domain.endswith((".invalid", ".test", ".example")):
        return f"{email} looks fake or invalid, please enter a real email address."
    return None


def json_ok(payload: Any, status: int = 200) -> Response:
    """A Mailchimp JSON response."""
    return Response(status, orjson.dumps(payload), {}, "application/json; charset=utf-8")


def no_content() -> Response:
    """204."""
    return Response(204, b"", {}, "application/json; charset=utf-8")


def project(document: dict[str, Any], request: Request) -> dict[str, Any]:
    """Apply ``fields`` / ``exclude_fields`` (comma-separated dotted paths)."""
    include = [p for p in (request.arg("fields") or "").split(",") if p]
    exclude = [p for p in (request.arg("exclude_fields") or "").split(",") if p]
    if include:
        document = _keep(document, [p.split(".") for p in include])
    for path in exclude:
        _drop(document, path.split("."))
    return document


def _keep(value: Any, paths: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_keep(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for path in paths:
        head = path[0]
        if head not in value:
            continue
        if len(path) == 1:
            out[head] = value[head]
        else:
            inner = _keep(value[head], [p[1:] for p in paths if p[0] == head and len(p) > 1])
            out[head] = inner
    return out


def _drop(value: Any, path: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _drop(item, path)
    elif isinstance(value, dict) and path[0] in value:
        if len(path) == 1:
            del value[path[0]]
        else:
            _drop(value[path[0]], path[1:])


class MailchimpEmulator(Emulator):
    """Mailchimp audiences and members (write side)."""

    name = "mailchimp"

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx)
        self._in_flight = 0
        self._flight_lock = threading.Lock()
        routes = [
            ("GET", "/3.0/ping", self.ping),
            ("GET", "/3.0/lists", self.get_lists),
            ("POST", "/3.0/lists", self.create_list),
            ("GET", "/3.0/lists/{list_id}", self.get_list),
            ("POST", "/3.0/lists/{list_id}", self.batch),
            ("GET", "/3.0/lists/{list_id}/members", self.get_members),
            ("POST", "/3.0/lists/{list_id}/members", self.add_member),
            ("GET", "/3.0/lists/{list_id}/members/{subscriber_hash}", self.get_member),
            ("PUT", "/3.0/lists/{list_id}/members/{subscriber_hash}", self.put_member),
            ("PATCH", "/3.0/lists/{list_id}/members/{subscriber_hash}", self.patch_member),
            ("DELETE", "/3.0/lists/{list_id}/members/{subscriber_hash}", self.archive_member),
            (
                "POST",
                "/3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent",
                self.delete_permanent,
            ),
            ("POST", "/3.0/lists/{list_id}/members/{subscriber_hash}/tags", self.set_tags),
        ]
        for method, path, handler in routes:
            self.router.add(method, path, self._guard(handler))

    # -- pipeline ---------------------------------------------------------------------------
    @property
    def max_connections(self) -> int | None:
        """Simultaneous requests allowed (None: unlimited)."""
        mode = self.ctx.rate_limits
        if mode is RateLimitMode.OFF:
            return None
        return (
            MAX_CONNECTIONS
            if mode is RateLimitMode.REALISTIC
            else int(MAX_CONNECTIONS * FAST_FACTOR)
        )

    @contextmanager
    def connection(self) -> Iterator[bool]:
        """Hold one of the simultaneous-request slots; yields False when none is free."""
        limit = self.max_connections
        with self._flight_lock:
            admitted = limit is None or self._in_flight < limit
            if admitted:
                self._in_flight += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self._flight_lock:
                    self._in_flight -= 1

    def handle(self, request: Request) -> Response:
        """Answer one request, with a 429 past the simultaneous-connection limit."""
        with self.connection() as admitted:
            if not admitted:
                return MailchimpError(
                    429,
                    "Too Many Requests",
                    f"You have exceeded the limit of {MAX_CONNECTIONS} simultaneous connections.",
                ).response()
            return super().handle(request)

    def authenticate(self, request: Request) -> Response | None:
        """HTTP Basic (any user, API key as password) or ``Bearer <key>``."""
        header = request.header("authorization") or ""
        scheme, _, value = header.partition(" ")
        key = None
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(value.strip()).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                key = None
        elif scheme.lower() in ("bearer", "oauth", "apikey"):
            key = value.strip()
        if not header:
            return MailchimpError(
                401, "API Key Missing", "Your request did not include an API key."
            ).response()
        if key != self.credentials["api_key"]:
            return MailchimpError(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            ).response()
        return None

    def not_found(self, request: Request, method_allowed: bool) -> Response:
        """Mailchimp's 404 / 405 problem documents."""
        if method_allowed:
            return MailchimpError(
                405,
                "Method Not Allowed",
                "The requested method and resource are not compatible. See the Allow header for "
                "this resource's available methods.",
            ).response()
        return not_found().response()

    def _guard(self, handler: Any) -> Any:
        def run(request: Request) -> Response:
            try:
                return handler(request)
            except MailchimpError as error:
                return error.response()

        return run

    # -- helpers ----------------------------------------------------------------------------
    @contextmanager
    def peek(self) -> Iterator[dict[str, Any]]:
        """The state document under the store's lock, without a copy (read-only).

        ``StateStore.read`` deep-copies the whole document, too slow for paging a large audience.
        """
        with self.state.peek(self.name) as doc:
            yield doc

    def now(self) -> str:
        """The sandbox clock as Mailchimp's ISO 8601 text."""
        return self.world.clock.replace(microsecond=0).isoformat()

    def body(self, request: Request) -> dict[str, Any]:
        """The JSON object body, or Mailchimp's 400."""
        try:
            payload = request.json()
        except ValueError:
            raise MailchimpError(
                400,
                "JSON Parse Exception",
                "We encountered an unspecified JSON parsing error.",
            ) from None
        if not isinstance(payload, dict):
            raise invalid_resource([{"field": "", "message": "Schema describes object."}])
        return payload

    def paging(self, request: Request) -> tuple[int, int]:
        """``count`` and ``offset``."""
        try:
            count = int(request.arg("count", str(DEFAULT_COUNT)) or DEFAULT_COUNT)
            offset = int(request.arg("offset", "0") or 0)
        except ValueError:
            raise invalid_resource(
                [{"field": "count", "message": "count and offset must be integers."}]
            ) from None
        if not 1 <= count <= MAX_COUNT or offset < 0:
            raise invalid_resource(
                [{"field": "count", "message": f"count must be between 1 and {MAX_COUNT}."}]
            )
        return count, offset

    @staticmethod
    def list_of(doc: dict[str, Any], list_id: str) -> dict[str, Any]:
        """The audience record, or 404."""
        record = doc.get("lists", {}).get(list_id)
        if record is None:
            raise not_found()
        return record

    def render_list(self, record: dict[str, Any], base: str) -> dict[str, Any]:
        """An audience as Mailchimp returns it (members summarised in ``stats``)."""
        members = record["members"].values()
        count = {status: 0 for status in (*STATUSES, "archived")}
        for member in members:
            count[member["status"]] += 1
        document = {k: v for k, v in record.items() if k not in ("members", "forgotten")}
        document["stats"] = {
            "member_count": count["subscribed"],
            "total_contacts": sum(count.values()) - count["archived"],
            "unsubscribe_count": count["unsubscribed"],
            "cleaned_count": count["cleaned"],
            "member_count_since_send": count["subscribed"],
            "unsubscribe_count_since_send": count["unsubscribed"],
            "cleaned_count_since_send": count["cleaned"],
            "campaign_count": 0,
            "campaign_last_sent": "",
            "merge_field_count": len(DEFAULT_MERGE_FIELDS),
            "avg_sub_rate": 0,
            "avg_unsub_rate": 0,
            "target_sub_rate": 0,
            "open_rate": 0,
            "click_rate": 0,
            "last_sub_date": record.get("last_sub_date", ""),
            "last_unsub_date": record.get("last_unsub_date", ""),
        }
        document["_links"] = [
            {"rel": "self", "href": f"{base}/3.0/lists/{record['id']}", "method": "GET"},
            {"rel": "members", "href": f"{base}/3.0/lists/{record['id']}/members", "method": "GET"},
        ]
        return document

    @staticmethod
    def render_member(member: dict[str, Any], list_id: str, base: str) -> dict[str, Any]:
        """A member as Mailchimp returns it."""
        merge = member["merge_fields"]
        full_name = f"{merge.get('FNAME', '')} {merge.get('LNAME', '')}".strip()
        href = f"{base}/3.0/lists/{list_id}/members/{member['id']}"
        return {
            "id": member["id"],
            "email_address": member["email_address"],
            "unique_email_id": member["unique_email_id"],
            "contact_id": member["id"],
            "full_name": full_name,
            "web_id": member["web_id"],
            "email_type": member["email_type"],
            "status": member["status"],
            "consents_to_one_to_one_messaging": True,
            "merge_fields": merge,
            "interests": member.get("interests", {}),
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": member.get("ip_signup", ""),
            "timestamp_signup": member.get("timestamp_signup", ""),
            "ip_opt": member.get("ip_opt", ""),
            "timestamp_opt": member.get("timestamp_opt", ""),
            "member_rating": 2,
            "last_changed": member["last_changed"],
            "language": member.get("language", ""),
            "vip": member.get("vip", False),
            "email_client": "",
            "location": {
                "latitude": 0,
                "longitude": 0,
                "gmtoff": 0,
                "dstoff": 0,
                "country_code": "",
                "timezone": "",
                "region": "",
            },
            "source": member.get("source", "API - Generic"),
            "tags_count": len(member["tags"]),
            "tags": [{"id": tag_id(name), "name": name} for name in member["tags"]],
            "list_id": list_id,
            "_links": [
                {"rel": "self", "href": href, "method": "GET"},
                {"rel": "upsert", "href": href, "method": "PUT"},
                {"rel": "delete", "href": href, "method": "DELETE"},
            ],
        }

    # -- endpoints --------------------------------------------------------------------------
    def ping(self, request: Request) -> Response:
        """``GET /3.0/ping``."""
        return json_ok({"health_status": "Everything's Chimpy!"})

    def get_lists(self, request: Request) -> Response:
        """``GET /3.0/lists``."""
        count, offset = self.paging(request)
        with self.peek() as doc:
            records = list(doc.get("lists", {}).values())
            rendered = [
                self.render_list(r, request.base_url) for r in records[offset : offset + count]
            ]
        document = {
            "lists": rendered,
            "total_items": len(records),
            "constraints": {
                "may_create": True,
                "max_instances": 1_000,
                "current_total_instances": len(records),
            },
            "_links": [],
        }
        return json_ok(project(document, request))

    def create_list(self, request: Request) -> Response:
        """``POST /3.0/lists``: create an audience."""
        payload = self.body(request)
        errors = [
            {"field": name, "message": "This value should not be blank."}
            for name in LIST_REQUIRED
            if payload.get(name) in (None, "", {})
        ]
        for group, required in (
            ("contact", CONTACT_REQUIRED),
            ("campaign_defaults", DEFAULTS_REQUIRED),
        ):
            section = payload.get(group)
            if isinstance(section, dict):
                errors += [
                    {"field": f"{group}.{name}", "message": "This value should not be blank."}
                    for name in required
                    if not section.get(name)
                ]
        if errors:
            raise invalid_resource(errors)
        with self.state.change(self.name) as doc:
            seq = doc["seq"] = doc.get("seq", 0) + 1
            list_id = hashlib.sha1(f"list|{seq}".encode()).hexdigest()[:10]
            now = self.now()
            record = {
                "id": list_id,
                "web_id": 100_000 + seq,
                "name": payload["name"],
                "contact": payload["contact"],
                "permission_reminder": payload["permission_reminder"],
                "use_archive_bar": bool(payload.get("use_archive_bar", False)),
                "campaign_defaults": payload["campaign_defaults"],
                "notify_on_subscribe": payload.get("notify_on_subscribe", ""),
                "notify_on_unsubscribe": payload.get("notify_on_unsubscribe", ""),
                "date_created": now,
                "list_rating": 0,
                "email_type_option": bool(payload["email_type_option"]),
                "subscribe_url_short": f"http://eepurl.com/{list_id[:6]}",
                "subscribe_url_long": f"https://sandbox.us1.list-manage.com/subscribe?id={list_id}",
                "beamer_address": f"us1-{list_id}@inbound.mailchimp.com",
                "visibility": payload.get("visibility", "pub"),
                "double_optin": bool(payload.get("double_optin", False)),
                "has_welcome": bool(payload.get("has_welcome", False)),
                "marketing_permissions": bool(payload.get("marketing_permissions", False)),
                "modules": [],
                "members": {},
                "forgotten": [],
            }
            doc.setdefault("lists", {})[list_id] = record
            document = self.render_list(record, request.base_url)
        return json_ok(document)

    def get_list(self, request: Request) -> Response:
        """``GET /3.0/lists/{list_id}``."""
        with self.peek() as doc:
            record = self.list_of(doc, request.path_params["list_id"])
            document = self.render_list(record, request.base_url)
        return json_ok(project(document, request))

    def get_members(self, request: Request) -> Response:
        """``GET /3.0/lists/{list_id}/members`` (``count``/``offset``, ``status`` filter)."""
        count, offset = self.paging(request)
        status = request.arg("status")
        if status is not None and status not in (*STATUSES, "archived"):
            raise invalid_resource(
                [{"field": "status", "message": f"'{status}' is not a valid member status."}]
            )
        since = request.arg("since_last_changed")
        list_id = request.path_params["list_id"]
        with self.peek() as doc:
            record = self.list_of(doc, list_id)
            members = [
                member
                for member in record["members"].values()
                if (member["status"] == status if status else member["status"] != "archived")
                and (since is None or member["last_changed"] > since)
            ]
            chosen = [
                self.render_member(m, list_id, request.base_url)
                for m in members[offset : offset + count]
            ]
        document = {
            "members": chosen,
            "list_id": list_id,
            "total_items": len(members),
            "_links": [],
        }
        return json_ok(project(document, request))

    def get_member(self, request: Request) -> Response:
        """``GET /3.0/lists/{list_id}/members/{subscriber_hash}``."""
        list_id = request.path_params["list_id"]
        with self.peek() as doc:
            record = self.list_of(doc, list_id)
            member = record["members"].get(request.path_params["subscriber_hash"].lower())
            if member is None:
                raise not_found()
            document = self.render_member(member, list_id, request.base_url)
        return json_ok(project(document, request))

    def put_member(self, request: Request) -> Response:
        """``PUT .../members/{hash}``: add or update (``status_if_new`` applies to new members)."""
        return self._write_member(request, create=True, update=True)

    def patch_member(self, request: Request) -> Response:
        """``PATCH .../members/{hash}``: update an existing member."""
        return self._write_member(request, create=False, update=True)

    def add_member(self, request: Request) -> Response:
        """``POST .../members``: add a new member ("Member Exists" when present)."""
        return self._write_member(request, create=True, update=False)

    def _write_member(self, request: Request, create: bool, update: bool) -> Response:
        payload = self.body(request)
        list_id = request.path_params["list_id"]
        path_hash = request.path_params.get("subscriber_hash")
        email = payload.get("email_address")
        if email is None and path_hash is None:
            raise invalid_resource(
                [{"field": "email_address", "message": "This value should not be blank."}]
            )
        if (
            email is not None
            and path_hash is not None
            and subscriber_hash(str(email)) != path_hash.lower()
        ):
            raise invalid_resource(
                [
                    {
                        "field": "email_address",
                        "message": "The email address does not match the subscriber hash.",
                    }
                ],
                "The subscriber hash in the URL does not match the email address in the request "
                "body.",
            )
        with self.state.change(self.name) as doc:
            record = self.list_of(doc, list_id)
            key = path_hash.lower() if path_hash else subscriber_hash(str(email))
            existing = record["members"].get(key)
            if existing is not None and existing["status"] != "archived":
                if not update:
                    raise MailchimpError(
                        400,
                        "Member Exists",
                        f"{existing['email_address']} is already a list member. Use PUT to insert "
                        "or update list members.",
                    )
                problem = self.update_member(existing, payload, payload.get("status"))
                if problem is not None:
                    raise problem
                member = existing
            else:
                if not create:
                    raise not_found()
                if email is None:
                    raise invalid_resource(
                        [{"field": "email_address", "message": "This value should not be blank."}]
                    )
                status = payload.get("status_if_new") if path_hash else payload.get("status")
                status = status or payload.get("status")
                member, problem = self.new_member(record, str(email), status, payload)
                if problem is not None:
                    raise problem
            document = self.render_member(member, list_id, request.base_url)
        return json_ok(document)

    def new_member(
        self, record: dict[str, Any], email: str, status: Any, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], MailchimpError | None]:
        """Add a member to an audience (or the error that prevents it)."""
        problem = email_problem(email)
        if problem is not None:
            return {}, invalid_resource([{"field": "email_address", "message": problem}], problem)
        key = subscriber_hash(email)
        if key in record["forgotten"]:
            detail = (
                f"{email} was permanently deleted and cannot be re-imported. The contact must "
                "re-subscribe to get back on the list."
            )
            return {}, MailchimpError(400, "Forgotten Email Not Subscribed", detail)
        if status not in STATUSES:
            message = "Please specify a valid status: " + ", ".join(STATUSES) + "."
            if status is None:
                message = "The resource submitted could not be validated: a status is required."
            return {}, invalid_resource([{"field": "status", "message": message}])
        now = self.now()
        previous = record["members"].get(key)
        member = {
            "id": key,
            "email_address": email.strip(),
            "unique_email_id": hashlib.md5(f"{record['id']}{key}".encode()).hexdigest()[:10],
            "web_id": previous["web_id"] if previous else 200_000_000 + len(record["members"]),
            "email_type": payload.get("email_type", "html"),
            "status": status,
            "merge_fields": dict(DEFAULT_MERGE_FIELDS),
            "tags": [],
            "language": "",
            "vip": False,
            "timestamp_signup": payload.get("timestamp_signup", ""),
            "timestamp_opt": now if status == "subscribed" else "",
            "last_changed": now,
            "source": "API - Generic",
        }
        self.apply_fields(member, payload)
        record["members"][key] = member
        if status == "subscribed":
            record["last_sub_date"] = now
        return member, None

    def update_member(
        self, member: dict[str, Any], payload: dict[str, Any], status: Any
    ) -> MailchimpError | None:
        """Update an existing member (the error that prevents it, if any)."""
        if status is not None:
            if status not in STATUSES:
                message = "Please specify a valid status: " + ", ".join(STATUSES) + "."
                return invalid_resource([{"field": "status", "message": message}])
            if status == "subscribed" and member["status"] in COMPLIANCE_STATES:
                return MailchimpError(
                    400,
                    "Member In Compliance State",
                    f"{member['email_address']} is in a compliance state due to unsubscribe, "
                    "bounce, or compliance review and cannot be subscribed.",
                )
        changed = self.apply_fields(member, payload)
        if status is not None and status != member["status"]:
            member["status"] = status
            if status == "subscribed":
                member["timestamp_opt"] = self.now()
            changed = True
        if changed:
            member["last_changed"] = self.now()
        return None

    @staticmethod
    def apply_fields(member: dict[str, Any], payload: dict[str, Any]) -> bool:
        """Merge fields, language, vip, email type and tags from a request; whether changed."""
        before = orjson.dumps(member)
        merge = payload.get("merge_fields")
        if isinstance(merge, dict):
            member["merge_fields"].update({k: v for k, v in merge.items()})
        for key in ("language", "vip", "email_type", "interests", "ip_signup", "ip_opt"):
            if key in payload:
                member[key] = payload[key]
        tags = payload.get("tags")
        if isinstance(tags, list):
            names = [t if isinstance(t, str) else t.get("name") for t in tags]
            member["tags"] = list(dict.fromkeys([*member["tags"], *[n for n in names if n]]))
        return orjson.dumps(member) != before

    def archive_member(self, request: Request) -> Response:
        """``DELETE .../members/{hash}``: archive (204)."""
        with self.state.change(self.name) as doc:
            record = self.list_of(doc, request.path_params["list_id"])
            member = record["members"].get(request.path_params["subscriber_hash"].lower())
            if member is None or member["status"] == "archived":
                raise not_found()
            member["status"] = "archived"
            member["last_changed"] = self.now()
        return no_content()

    def delete_permanent(self, request: Request) -> Response:
        """``POST .../members/{hash}/actions/delete-permanent`` (204; never re-importable)."""
        with self.state.change(self.name) as doc:
            record = self.list_of(doc, request.path_params["list_id"])
            key = request.path_params["subscriber_hash"].lower()
            if record["members"].pop(key, None) is None:
                raise not_found()
            if key not in record["forgotten"]:
                record["forgotten"].append(key)
        return no_content()

    def set_tags(self, request: Request) -> Response:
        """``POST .../members/{hash}/tags``: activate or deactivate tags (204)."""
        payload = self.body(request)
        tags = payload.get("tags")
        if not isinstance(tags, list):
            raise invalid_resource(
                [{"field": "tags", "message": "This value should not be blank."}]
            )
        with self.state.change(self.name) as doc:
            record = self.list_of(doc, request.path_params["list_id"])
            member = record["members"].get(request.path_params["subscriber_hash"].lower())
            if member is None:
                raise not_found()
            for tag in tags:
                if not isinstance(tag, dict) or not tag.get("name"):
                    raise invalid_resource([{"field": "tags", "message": "Each tag needs a name."}])
                if tag.get("status", "active") == "inactive":
                    member["tags"] = [name for name in member["tags"] if name != tag["name"]]
                elif tag["name"] not in member["tags"]:
                    member["tags"].append(tag["name"])
            member["last_changed"] = self.now()
        return no_content()

    def batch(self, request: Request) -> Response:
        """``POST /3.0/lists/{list_id}``: batch subscribe/unsubscribe (200, per-member errors)."""
        payload = self.body(request)
        members = payload.get("members")
        if not isinstance(members, list):
            raise invalid_resource(
                [{"field": "members", "message": "This value should not be blank."}]
            )
        if len(members) > MAX_BATCH:
            raise invalid_resource(
                [
                    {
                        "field": "members",
                        "message": f"You may only add or update up to {MAX_BATCH} members at a "
                        f"time; {len(members)} were sent.",
                    }
                ]
            )
        update_existing = bool(payload.get("update_existing", False))
        skip_duplicates = (request.arg("skip_duplicate_check") or "").lower() == "true"
        list_id = request.path_params["list_id"]
        new, updated, errors = [], [], []
        with self.state.change(self.name) as doc:
            record = self.list_of(doc, list_id)
            seen: set[str] = set()
            for item in members:
                if not isinstance(item, dict):
                    errors.append(batch_error("", "Each member must be an object."))
                    continue
                email = item.get("email_address")
                problem = email_problem(email)
                if problem is not None:
                    errors.append(batch_error(str(email or ""), problem, field="email_address"))
                    continue
                key = subscriber_hash(str(email))
                if key in seen:
                    if not skip_duplicates:
                        errors.append(
                            batch_error(str(email), f"{email} is a duplicate in this request.")
                        )
                    continue
                seen.add(key)
                existing = record["members"].get(key)
                if existing is not None and existing["status"] != "archived":
                    if not update_existing:
                        errors.append(
                            batch_error(
                                str(email),
                                f"{email} is already a list member, do you want to update? "
                                "please provide update_existing:true in the request body",
                                code="ERROR_CONTACT_EXISTS",
                            )
                        )
                        continue
                    failure = self.update_member(existing, item, item.get("status"))
                    if failure is not None:
                        errors.append(batch_error(str(email), failure.detail))
                        continue
                    updated.append(self.render_member(existing, list_id, request.base_url))
                    continue
                member, failure = self.new_member(record, str(email), item.get("status"), item)
                if failure is not None:
                    errors.append(batch_error(str(email), failure.detail))
                    continue
                new.append(self.render_member(member, list_id, request.base_url))
        document = {
            "new_members": new,
            "updated_members": updated,
            "errors": errors,
            "total_created": len(new),
            "total_updated": len(updated),
            "error_count": len(errors),
            "_links": [],
        }
        return json_ok(document)


def batch_error(
    email: str, error: str, *, code: str = "ERROR_GENERIC", field: str = ""
) -> dict[str, str]:
    """One entry of a batch response's ``errors``."""
    return {
        "email_address": email,
        "error": error,
        "error_code": code,
        "field": field,
        "field_message": error if field else "",
    }


def tag_id(name: str) -> int:
    """A stable numeric tag id."""
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)


EMULATOR = MailchimpEmulator
