"""The Klaviyo write-side state: matching profiles, upserting them, list membership, ids.

:class:`Writes` wraps one request's change to the ``klaviyo`` state document (shape in
:mod:`.write`): it finds the profile that import identifiers match (id, else email folded to lower
case, phone number, external id; world profiles first copied into the state when changed),
applies attributes the way Klaviyo does (``null`` clears, ``location`` and ``properties`` merge by
key), and keeps list membership as additions and removals over the world's members. The state's
``epoch``/``rev`` change whenever profiles, lists or memberships do, which is how the read side
knows to rebuild its overlay.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from pipelines.sandbox.vendors.klaviyo.errors import invalid, not_found

if TYPE_CHECKING:
    from pipelines.sandbox.vendors.klaviyo.emulator import KlaviyoEmulator

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PROFILE_KEYS = frozenset(
    {
        "email", "phone_number", "external_id", "anonymous_id", "_kx", "first_name",
        "last_name", "organization", "locale", "title", "image", "location", "properties",
    }
)  # fmt: skip
LOCATION_KEYS = frozenset(
    {"address1", "address2", "city", "country", "latitude", "longitude", "region", "zip",
     "timezone", "ip"}
)  # fmt: skip
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class Writes:
    """One request's view of the state document and the world for matching profiles."""

    emu: KlaviyoEmulator
    doc: dict[str, Any]
    now: str
    world_rows: pl.DataFrame
    world_index: dict[str, int]
    world_by: dict[str, dict[str, str]]
    by: dict[str, dict[str, str]] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def open(cls, emu: KlaviyoEmulator, doc: dict[str, Any]) -> Writes:
        """Index the state's profiles for matching (the world index is cached)."""
        rows = emu.world_profile_rows()
        index, world_by = emu.world.cached("klaviyo:identity", lambda: identity_index(rows))
        writes = cls(emu, doc, emu.now().isoformat(), rows, index, world_by)
        writes.by = {"email": {}, "phone_number": {}, "external_id": {}}
        for pid, record in doc.get("profiles", {}).items():
            writes.index(pid, record["attributes"])
        return writes

    def index(self, pid: str, attributes: dict[str, Any]) -> None:
        """Remember a state profile's identifiers."""
        for key, lookup in self.by.items():
            value = attributes.get(key)
            if value:
                lookup.setdefault(value.lower() if key == "email" else value, pid)

    def exists(self, pid: str) -> bool:
        """Whether a profile id is served (world or state, not deleted)."""
        if pid in self.doc.get("deleted_profiles", {}):
            return False
        return pid in self.doc.get("profiles", {}) or pid in self.world_index

    def find(self, attributes: dict[str, Any]) -> str | None:
        """The profile that the identifiers match, in Klaviyo's order."""
        deleted = self.doc.get("deleted_profiles", {})
        state = self.doc.get("profiles", {})
        for key in ("email", "phone_number", "external_id"):
            value = attributes.get(key)
            if not value:
                continue
            folded = value.lower() if key == "email" else value
            pid = self.by[key].get(folded)
            if pid is not None and pid not in deleted:
                return pid
            pid = self.world_by[key].get(folded)
            if pid is not None and pid not in deleted and pid not in state:
                return pid
        return None

    def record(self, pid: str) -> dict[str, Any]:
        """The state record of a profile, copying a world profile in on first change."""
        profiles = self.doc.setdefault("profiles", {})
        if pid not in profiles:
            row = self.world_rows.row(self.world_index[pid], named=True)
            profiles[pid] = world_record(row)
            self.index(pid, profiles[pid]["attributes"])
        return profiles[pid]

    def new_profile(self) -> str:
        """A new ULID-like profile id stamped with the sandbox clock."""
        seq = next_seq(self.doc)
        millis = int(datetime.fromisoformat(self.now).timestamp() * 1000)
        stamp = "".join(CROCKFORD[(millis >> shift) & 31] for shift in range(45, -5, -5))
        digest = int.from_bytes(hashlib.sha256(f"profile|{seq}".encode()).digest()[:10], "big")
        tail = "".join(CROCKFORD[(digest >> shift) & 31] for shift in range(75, -5, -5))
        pid = stamp + tail
        self.doc.setdefault("profiles", {})[pid] = {
            "id": pid,
            "origin": "api",
            "attributes": {},
            "subscriptions": {
                "email": {"marketing": {"consent": "NEVER_SUBSCRIBED", "consent_timestamp": None}}
            },
            "created": self.now,
            "updated": self.now,
            "last_event_date": None,
        }
        self.changed = True
        return pid

    def upsert(self, attributes: dict[str, Any], pid: str | None = None) -> tuple[str, bool]:
        """Create or update a profile from import attributes; its id and whether it is new."""
        if pid is not None and not self.exists(pid):
            raise not_found("profile", pid)
        found = pid or self.find(attributes)
        created = found is None
        pid = found or self.new_profile()
        record = self.record(pid)
        if apply_attributes(record["attributes"], attributes) or created:
            record["updated"] = self.now
            self.index(pid, record["attributes"])
            self.changed = True
        return pid, created

    def set_consent(self, pid: str, consent: str, at: str | None = None) -> None:
        """Record the profile's email marketing consent."""
        record = self.record(pid)
        marketing = record.setdefault("subscriptions", {}).setdefault("email", {})
        marketing["marketing"] = {
            "consent": consent,
            "consent_timestamp": at or self.now,
            "method": "API",
        }
        record["updated"] = self.now
        self.changed = True

    def join(self, list_id: str, pid: str) -> None:
        """Add a profile to a list (no-op when already a member)."""
        membership = self.doc.setdefault("memberships", {}).setdefault(
            list_id, {"added": {}, "removed": []}
        )
        if pid in membership["removed"]:
            membership["removed"].remove(pid)
            self.changed = True
            if pid in world_member_ids(self.emu, list_id):
                return
        if pid not in membership["added"] and pid not in world_member_ids(self.emu, list_id):
            membership["added"][pid] = self.now
            self.changed = True

    def leave(self, list_id: str, pid: str) -> None:
        """Remove a profile from a list (no-op when not a member)."""
        membership = self.doc.setdefault("memberships", {}).setdefault(
            list_id, {"added": {}, "removed": []}
        )
        if membership["added"].pop(pid, None) is not None:
            self.changed = True
        if pid in world_member_ids(self.emu, list_id) and pid not in membership["removed"]:
            membership["removed"].append(pid)
            self.changed = True

    def is_member(self, list_id: str, pid: str) -> bool:
        """Whether the profile is currently on the list."""
        membership = self.doc.get("memberships", {}).get(list_id, {"added": {}, "removed": []})
        if pid in membership["added"]:
            return True
        return pid in world_member_ids(self.emu, list_id) and pid not in membership["removed"]

    def commit(self) -> None:
        """Bump the overlay revision when profiles, lists or memberships changed."""
        if self.changed:
            self.doc.setdefault("epoch", uuid.uuid4().hex)
            self.doc["rev"] = self.doc.get("rev", 0) + 1


def identity_index(rows: pl.DataFrame) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """World profile row numbers by id, and ids by email (folded), phone and external id."""
    ids = rows["profile_id"].to_list()
    index = {pid: i for i, pid in enumerate(ids)}
    by: dict[str, dict[str, str]] = {"email": {}, "phone_number": {}, "external_id": {}}
    for key in by:
        for pid, value in zip(ids, rows[key].to_list(), strict=True):
            if value:
                by[key].setdefault(value.lower() if key == "email" else value, pid)
    return index, by


def world_member_ids(emu: KlaviyoEmulator, list_id: str) -> frozenset[str]:
    """The world's members of a list."""
    members = emu.world.cached(
        "klaviyo:world-members",
        lambda: {
            lid: frozenset(group["profile_id"].to_list())
            for (lid,), group in emu.world.table("klaviyo_list_members").group_by("list_id")
        },
    )
    return members.get(list_id, frozenset())


def world_record(row: dict[str, Any]) -> dict[str, Any]:
    """A world profile render row as a state record."""
    return {
        "id": row["profile_id"],
        "origin": "world",
        "attributes": {
            "email": row["email"],
            "phone_number": row["phone_number"],
            "external_id": row["external_id"],
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "location": {
                key: row[key] for key in ("city", "region", "zip") if row[key] is not None
            },
            "properties": {},
        },
        "subscriptions": {
            "email": {
                "marketing": {
                    "consent": row["email_consent"] or "NEVER_SUBSCRIBED",
                    "consent_timestamp": row["consent_at"],
                }
            }
        },
        "created": row["created"],
        "updated": row["updated"],
        "last_event_date": row["last_event_date"],
    }


def apply_attributes(target: dict[str, Any], changes: dict[str, Any]) -> bool:
    """Merge import attributes (``null`` clears; location and properties merge by key)."""
    changed = False
    for key, value in changes.items():
        if key in ("location", "properties") and isinstance(value, dict):
            nested = target.setdefault(key, {})
            for inner, inner_value in value.items():
                if inner_value is None:
                    changed |= nested.pop(inner, None) is not None
                elif nested.get(inner) != inner_value:
                    nested[inner] = inner_value
                    changed = True
        elif value is None:
            changed |= target.pop(key, None) is not None
        elif target.get(key) != value:
            target[key] = value
            changed = True
    return changed


def profile_problem(attributes: Any) -> tuple[str, str] | None:
    """Why an import profile is invalid, as (detail, attribute), or None."""
    if not isinstance(attributes, dict):
        return "'attributes' must be an object.", ""
    for key in attributes:
        if key not in PROFILE_KEYS:
            return f"'{key}' is not a valid field for the resource 'profile'.", key
    email = attributes.get("email")
    if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
        return f"Invalid email address: '{email}'.", "email"
    phone = attributes.get("phone_number")
    if phone is not None and (not isinstance(phone, str) or not E164.match(phone)):
        return (
            f"Invalid phone number format: '{phone}' (Example of a valid format: +12345678901).",
            "phone_number",
        )
    location = attributes.get("location")
    if location is not None and not (isinstance(location, dict) and set(location) <= LOCATION_KEYS):
        return "'location' must be an object of address fields.", "location"
    properties = attributes.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return "'properties' must be an object.", "properties"
    if not any(
        attributes.get(key) for key in ("email", "phone_number", "external_id", "anonymous_id")
    ):
        return "One of email, phone_number, external_id or anonymous_id is required.", ""
    return None


def next_seq(doc: dict[str, Any]) -> int:
    """The next value of the state's id counter."""
    doc["seq"] = doc.get("seq", 0) + 1
    return int(doc["seq"])


def short_id(seed: str, length: int) -> str:
    """A base62 id derived from a seed."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(chars)


def list_ids_of(relationships: Any, pointer: str) -> list[str]:
    """``relationships.lists.data[*].id``."""
    if relationships is None:
        return []
    data = relationships.get("lists", {}).get("data") if isinstance(relationships, dict) else None
    if not isinstance(data, list):
        raise invalid("'relationships.lists.data' must be a list.", pointer=pointer)
    found = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or item.get("type") != "list" or not item.get("id"):
            raise invalid("Each list needs a type 'list' and an id.", pointer=f"{pointer}/{i}")
        found.append(str(item["id"]))
    return found


def require_lists(emu: KlaviyoEmulator, doc: dict[str, Any], list_ids: list[str]) -> None:
    """404 for any list that does not exist."""
    world = set(emu.world.table("klaviyo_lists")["list_id"].to_list())
    for list_id in list_ids:
        if list_id not in world and list_id not in doc.get("lists", {}):
            raise not_found("list", list_id)


def opt_in(emu: KlaviyoEmulator, doc: dict[str, Any], list_id: str) -> str:
    """A list's opt-in process."""
    if list_id in doc.get("lists", {}):
        return str(doc["lists"][list_id]["opt_in_process"])
    lists = emu.world.table("klaviyo_lists")
    match = lists.filter(pl.col("list_id") == list_id)["opt_in_process"].to_list()
    return str(match[0]) if match else "single_opt_in"
