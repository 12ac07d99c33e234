"""Per object type, the records as HubSpot serves them: world rows plus the write-side overlay.

A :class:`View` holds one object type's rows sorted by id, every property as HubSpot's string
(``None`` when unset), and builds on demand (then keeps) what requests need: pre-serialised
records for a property/association selection, typed numpy columns for search filters, sort
orders. Views are rebuilt when the world changes (``World.cached``) or when the write-side state
file changes (upserted contacts, GDPR deletions, custom properties).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from pipelines.sandbox.vendors.hubspot.objects import (
    CONTACTS,
    PAIRS,
    SPECS,
    ObjectSpec,
    PropertySpec,
)
from pipelines.sandbox.world import World

ISO_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"
MAX_VARIANTS = 4  # rendered property/association selections kept per view


def iso_ms(moment: datetime) -> str:
    """HubSpot's timestamp format: ``2024-03-01T09:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any) -> datetime | None:
    """An aware datetime from epoch milliseconds or an ISO date/datetime; None if unparseable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def normalise(value: str | None, kind: str) -> str | None:
    """A written property value as HubSpot reads it back (empty clears, dates become ISO)."""
    if value is None or value == "":
        return None
    if kind in ("datetime", "date"):
        moment = parse_timestamp(value)
        return iso_ms(moment) if moment else value
    if kind == "bool":
        return value.lower()
    return value


def custom_spec(definition: dict[str, Any]) -> PropertySpec:
    """A PropertySpec for a property created through the properties API."""
    return PropertySpec(
        name=definition["name"],
        label=definition.get("label", definition["name"]),
        type=definition.get("type", "string"),
        field_type=definition.get("fieldType", "text"),
        group=definition.get("groupName", ""),
        column=None,
        source="none",
        options=tuple(o.get("value", "") for o in definition.get("options") or []),
    )


@dataclass(frozen=True)
class Overlay:
    """What the write side changed: contact property updates and creations, GDPR deletions."""

    rows: dict[int, dict[str, str | None]] = field(default_factory=dict)
    new: frozenset[int] = frozenset()
    deleted: frozenset[int] = frozenset()
    custom: dict[str, dict[str, PropertySpec]] = field(default_factory=dict)

    @classmethod
    def from_state(cls, doc: dict[str, Any]) -> Overlay:
        """The overlay recorded in the hubspot state document."""
        custom = {
            object_type: {name: custom_spec(d) for name, d in defs.items()}
            for object_type, defs in (doc.get("properties") or {}).items()
        }
        kinds = {p.name: p.type for p in SPECS[CONTACTS].properties}
        kinds.update({n: p.type for n, p in custom.get(CONTACTS, {}).items()})
        rows: dict[int, dict[str, str | None]] = {}
        new: set[int] = set()
        for key, record in (doc.get("contacts") or {}).items():
            contact_id = int(key)
            values = {
                name: normalise(str(value), kinds.get(name, "string"))
                for name, value in (record.get("properties") or {}).items()
            }
            values["email"] = record.get("email")
            values["lastmodifieddate"] = record["updatedAt"]
            if record.get("new"):
                new.add(contact_id)
                values.setdefault("createdate", record["createdAt"])
            rows[contact_id] = values
        deleted = {int(d["contactId"]) for d in doc.get("gdpr_deletions") or []}
        return cls(rows, frozenset(new), frozenset(deleted), custom)


def _iso(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime(ISO_MS)


def _cents(expr: pl.Expr) -> pl.Expr:
    """Integer cents as a plain decimal string without trailing zeros: 150050 -> "1500.5"."""
    magnitude = expr.abs()
    frac = magnitude % 100
    frac_text = (
        pl.when(frac == 0)
        .then(pl.lit(""))
        .when(frac % 10 == 0)
        .then(pl.lit(".") + (frac // 10).cast(pl.String))
        .otherwise(pl.lit(".") + frac.cast(pl.String).str.zfill(2))
    )
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, (magnitude // 100).cast(pl.String), frac_text])


def _render(prop: PropertySpec, spec: ObjectSpec) -> pl.Expr:
    if prop.source == "id":
        return pl.col(spec.id_column).cast(pl.String)
    if prop.source == "none" or prop.column is None:
        return pl.lit(None, dtype=pl.String)
    column = pl.col(prop.column)
    if prop.source == "datetime":
        return _iso(column)
    if prop.source == "cents":
        return _cents(column)
    if prop.source == "int":
        return column.cast(pl.Int64).cast(pl.String)
    return column.cast(pl.String)


def world_rows(world: World, spec: ObjectSpec) -> pl.DataFrame:
    """The object type's world table (notes/calls: their kind of engagement)."""
    table = world.table(spec.table)
    if spec.kind is not None:
        table = table.filter(pl.col("kind") == spec.kind)
    return table


def base_frame(world: World, spec: ObjectSpec) -> pl.DataFrame:
    """``id``, ``archived_at`` and every property rendered as a HubSpot string, sorted by id."""
    exprs = [
        pl.col(spec.id_column).cast(pl.Int64).alias("id"),
        _iso(pl.col("archived_at")).alias("archived_at"),
    ]
    exprs += [_render(prop, spec).alias(prop.name) for prop in spec.properties]
    return world_rows(world, spec).select(exprs).sort("id")


def apply_overlay(frame: pl.DataFrame, overlay: Overlay, spec: ObjectSpec) -> pl.DataFrame:
    """The frame with custom property columns, written values, new rows and deletions applied."""
    custom = overlay.custom.get(spec.name, {})
    missing = [name for name in custom if name not in frame.columns]
    if missing:
        frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(n) for n in missing])
    if spec.name != CONTACTS:
        return frame
    if overlay.deleted:
        frame = frame.filter(~pl.col("id").is_in(sorted(overlay.deleted)))
    ids = frame["id"].to_numpy()
    patches: dict[str, list[tuple[int, str | None]]] = {}
    for contact_id, values in overlay.rows.items():
        if contact_id in overlay.new or contact_id in overlay.deleted:
            continue
        pos = int(np.searchsorted(ids, contact_id))
        if pos >= len(ids) or ids[pos] != contact_id:
            continue  # no longer in the world
        for name, value in values.items():
            if name in frame.columns and name != "id":
                patches.setdefault(name, []).append((pos, value))
    for name, changes in patches.items():
        values_list = frame[name].to_list()
        for pos, value in changes:
            values_list[pos] = value
        frame = frame.with_columns(pl.Series(name, values_list, dtype=pl.String))
    created = sorted(i for i in overlay.new if i not in overlay.deleted)
    if created:
        columns: dict[str, list[Any]] = {name: [] for name in frame.columns}
        for contact_id in created:
            values = overlay.rows[contact_id]
            for name in frame.columns:
                columns[name].append(values.get(name))
            columns["id"][-1] = contact_id
            columns["hs_object_id"][-1] = str(contact_id)
        added = pl.DataFrame(columns, schema=frame.schema)
        frame = pl.concat([frame, added], how="vertical").sort("id")
    return frame


@dataclass(frozen=True)
class Column:
    """A property as a typed numpy array for filtering: ``datetime``/``number``/``string``."""

    kind: str
    values: np.ndarray  # int64 ms | float64 | object (lower-cased str or None)
    valid: np.ndarray  # bool: the property has a value


def _column_kind(prop_type: str) -> str:
    if prop_type in ("datetime", "date"):
        return "datetime"
    if prop_type == "number":
        return "number"
    return "string"


class View:
    """One object type's records, as HubSpot would serve them now."""

    def __init__(
        self,
        spec: ObjectSpec,
        frame: pl.DataFrame,
        props: dict[str, PropertySpec],
        associations: Callable[[str], dict[int, list[dict[str, str]]] | None],
    ) -> None:
        self.spec = spec
        self.frame = frame
        self.props = props  # every property served (built-in and custom)
        self.ids: np.ndarray = frame["id"].to_numpy()
        self.id_strings: list[str] = frame["id"].cast(pl.String).to_list()
        self.archived_at: list[str | None] = frame["archived_at"].to_list()
        archived = frame["archived_at"].is_not_null().to_numpy()
        self.active: np.ndarray = ~archived
        self.active_pos: np.ndarray = np.flatnonzero(~archived)
        self.archived_pos: np.ndarray = np.flatnonzero(archived)
        self.active_ids: np.ndarray = self.ids[self.active_pos]
        self.archived_ids: np.ndarray = self.ids[self.archived_pos]
        self._association_builder = associations
        self._lock = threading.RLock()
        self._values: dict[str, list[str | None]] = {}
        self._variants: OrderedDict[tuple[Any, ...], list[bytes]] = OrderedDict()
        self._columns: dict[str, Column] = {}
        self._orders: dict[tuple[str, bool], np.ndarray] = {}
        self._associations: dict[str, dict[int, list[dict[str, str]]] | None] = {}
        self._emails: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def values(self, name: str) -> list[str | None]:
        """One property of every row, as strings (None when unset)."""
        with self._lock:
            if name not in self._values:
                self._values[name] = self.frame[name].to_list()
            return self._values[name]

    def association(self, name: str) -> dict[int, list[dict[str, str]]] | None:
        """Object id -> association results towards ``name`` (None: no such association)."""
        with self._lock:
            if name not in self._associations:
                self._associations[name] = self._association_builder(name)
            return self._associations[name]

    def selection(self, requested: list[str] | None) -> tuple[str, ...]:
        """The properties to return: the defaults when none are asked for, unknown ones dropped;
        the id, create and modified dates always come along, as in HubSpot."""
        names = list(requested) if requested else list(self.spec.defaults)
        names += ["hs_object_id", self.spec.created_property, self.spec.modified_property]
        return tuple(sorted({n for n in names if n in self.props}))

    def record(self, pos: int, props: tuple[str, ...], assocs: tuple[str, ...]) -> dict[str, Any]:
        """One record as a dict (the shape every read endpoint returns)."""
        archived_at = self.archived_at[pos]
        record: dict[str, Any] = {
            "id": self.id_strings[pos],
            "properties": {name: self.values(name)[pos] for name in props},
            "createdAt": self.values(self.spec.created_property)[pos],
            "updatedAt": self.values(self.spec.modified_property)[pos],
            "archived": archived_at is not None,
        }
        if archived_at is not None:
            record["archivedAt"] = archived_at
        links = {}
        for name in assocs:
            found = (self.association(name) or {}).get(int(self.ids[pos]))
            if found:
                links[name] = {"results": found}
        if links:
            record["associations"] = links
        return record

    def rendered(self, props: tuple[str, ...], assocs: tuple[str, ...]) -> list[bytes]:
        """Every row serialised for this selection (built once, then kept)."""
        key = (props, assocs)
        with self._lock:
            found = self._variants.get(key)
            if found is not None:
                self._variants.move_to_end(key)
                return found
            rendered = self._render_all(props, assocs)
            self._variants[key] = rendered
            if len(self._variants) > MAX_VARIANTS:
                self._variants.popitem(last=False)
            return rendered

    def _render_all(self, props: tuple[str, ...], assocs: tuple[str, ...]) -> list[bytes]:
        """Serialise every row: polars encodes the records, associations are spliced in."""
        fields = [
            pl.col("id").cast(pl.String).alias("id"),
            pl.struct([pl.col(name) for name in props]).alias("properties"),
            pl.col(self.spec.created_property).alias("createdAt"),
            pl.col(self.spec.modified_property).alias("updatedAt"),
        ]
        active = pl.struct([*fields, pl.lit(False).alias("archived")]).struct.json_encode()
        archived = pl.struct(
            [*fields, pl.lit(True).alias("archived"), pl.col("archived_at").alias("archivedAt")]
        ).struct.json_encode()
        encoded = self.frame.select(
            pl.when(pl.col("archived_at").is_null()).then(active).otherwise(archived)
        )
        out = [text.encode() for text in encoded.to_series().to_list()]
        links = [(name, self.association(name) or {}) for name in assocs]
        if links:
            for pos, object_id in enumerate(self.ids.tolist()):
                found = {name: {"results": m[object_id]} for name, m in links if object_id in m}
                if found:
                    out[pos] = out[pos][:-1] + b',"associations":' + orjson.dumps(found) + b"}"
        return out

    def column(self, name: str) -> Column:
        """A property as a typed column for search filters and sorts."""
        with self._lock:
            if name in self._columns:
                return self._columns[name]
            kind = _column_kind(self.props[name].type)
            series = pl.Series(name, self.values(name), dtype=pl.String)
            if kind == "datetime":
                parsed = series.str.to_datetime(ISO_MS, strict=False, time_zone="UTC")
                epoch = parsed.dt.epoch("ms")
                valid = epoch.is_not_null().to_numpy()
                values = epoch.fill_null(0).to_numpy().astype(np.int64)
            elif kind == "number":
                number = series.cast(pl.Float64, strict=False)
                valid = number.is_not_null().to_numpy()
                values = number.fill_null(0.0).to_numpy().astype(np.float64)
            else:
                lowered = series.str.to_lowercase()
                valid = (lowered.is_not_null() & (lowered != "")).to_numpy()
                values = np.array(lowered.to_list(), dtype=object)
            column = Column(kind, values, valid)
            self._columns[name] = column
            return column

    def order(self, name: str, descending: bool) -> np.ndarray:
        """Row positions sorted by a property (values first, then unset; ties by id)."""
        with self._lock:
            key = (name, descending)
            if key not in self._orders:
                self._orders[key] = self._sort(name, descending)
            return self._orders[key]

    def _sort(self, name: str, descending: bool) -> np.ndarray:
        column = self.column(name)
        missing = ~column.valid
        if column.kind == "string":
            present = [int(p) for p in np.flatnonzero(column.valid)]
            # positions are id-ordered and Python's sort is stable, even reversed
            present.sort(key=lambda p: column.values[p], reverse=descending)
            return np.concatenate(
                [np.asarray(present, dtype=np.int64), np.flatnonzero(missing)]
            ).astype(np.int64)
        values = column.values
        keyed = -values if descending else values
        return np.lexsort((self.ids, keyed, missing)).astype(np.int64)

    def position(self, object_id: int) -> int | None:
        """The row of an object id, or None."""
        pos = int(np.searchsorted(self.ids, object_id))
        if pos < len(self.ids) and self.ids[pos] == object_id:
            return pos
        return None

    def by_email(self, email: str) -> int | None:
        """The row of the active contact with this email (case-insensitive), or None."""
        with self._lock:
            if self._emails is None:
                index: dict[str, int] = {}
                for pos in self.active_pos.tolist():
                    value = self.values("email")[pos]
                    if value:
                        index.setdefault(value.strip().lower(), pos)
                self._emails = index
            return self._emails.get(email.strip().lower())


def _active_ids(world: World, name: str, overlay: Overlay) -> np.ndarray:
    spec = SPECS[name]
    rows = world_rows(world, spec).filter(pl.col("archived_at").is_null())
    ids = rows[spec.id_column].cast(pl.Int64).to_numpy()
    if name == CONTACTS:
        created = [i for i in overlay.new if i not in overlay.deleted]
        ids = np.concatenate([ids, np.asarray(created, dtype=np.int64)])
        if overlay.deleted:
            ids = ids[~np.isin(ids, np.fromiter(overlay.deleted, dtype=np.int64))]
    return np.unique(ids)


def build_associations(
    world: World, spec: ObjectSpec, target: str, overlay: Overlay
) -> dict[int, list[dict[str, str]]] | None:
    """Object id -> ``[{"id", "type"}]`` towards the ``target`` type (None: not associated)."""
    if target not in SPECS:
        return None
    other = SPECS[target]
    frames = []
    for pair in PAIRS:
        if {pair.left, pair.right} != {spec.name, target} or spec.name == target:
            continue
        left = SPECS[pair.left]
        edges = (
            world_rows(world, left)
            .select(
                pl.col(left.id_column).cast(pl.Int64).alias("l"),
                pl.col(pair.column).cast(pl.Int64).alias("r"),
            )
            .drop_nulls()
        )
        source, dest = ("l", "r") if pair.left == spec.name else ("r", "l")
        frames.append((edges.select(pl.col(source).alias("s"), pl.col(dest).alias("t")), pair))
    if not frames:
        return None
    alive = _active_ids(world, target, overlay)
    label = f"{spec.singular}_to_{other.singular}"
    found: dict[int, list[dict[str, str]]] = {}
    for edges, pair in frames:
        edges = edges.filter(pl.col("t").is_in(alive)).unique().sort(["s", "t"])
        for source_id, target_id in edges.iter_rows():
            results = found.setdefault(source_id, [])
            results.append({"id": str(target_id), "type": label})
            if pair.primary:
                results.append({"id": str(target_id), "type": f"{label}_unlabeled"})
    return found


class Views:
    """The current :class:`View` of every object type, rebuilt when the world or state changes."""

    def __init__(self, world: World, state_file: Path, read_state: Callable[[], dict]) -> None:
        self.world = world
        self.state_file = state_file
        self.read_state = read_state
        self._lock = threading.RLock()
        self._views: dict[str, tuple[object, object, View]] = {}
        self._overlay: tuple[object, Overlay] = (None, Overlay())

    def _fingerprint(self) -> object:
        try:
            stat = self.state_file.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def overlay(self) -> Overlay:
        """The write-side overlay as recorded now (the state is read outside the view lock)."""
        fingerprint = self._fingerprint()
        with self._lock:
            if fingerprint is not None and self._overlay[0] == fingerprint:
                return self._overlay[1]
        doc = self.read_state() if fingerprint is not None else {}
        overlay = Overlay.from_state(doc)
        with self._lock:
            self._overlay = (fingerprint, overlay)
        return overlay

    def get(self, name: str) -> View:
        """The current view of one object type."""
        fingerprint = self._fingerprint()
        bases: dict[str, pl.DataFrame] = self.world.cached("hubspot:bases", dict)
        with self._lock:
            cached = self._views.get(name)
            if cached is not None and cached[0] is bases and cached[1] == fingerprint:
                return cached[2]
        overlay = self.overlay()
        with self._lock:
            cached = self._views.get(name)
            if cached is not None and cached[0] is bases and cached[1] == fingerprint:
                return cached[2]
            spec = SPECS[name]
            if name not in bases:
                bases[name] = base_frame(self.world, spec)
            frame = apply_overlay(bases[name], overlay, spec)
            props = {p.name: p for p in spec.properties}
            props.update(overlay.custom.get(name, {}))

            def associations(target: str) -> dict[int, list[dict[str, str]]] | None:
                return build_associations(self.world, spec, target, overlay)

            view = View(spec, frame, props, associations)
            self._views[name] = (bases, fingerprint, view)
            return view
