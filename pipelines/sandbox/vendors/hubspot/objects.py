"""The CRM object types served, their properties (HubSpot names, types) and associations.

Each object type maps one world table (notes and calls share ``hubspot_engagements``, split by
``kind``) to HubSpot's property names. ``source`` says how a property is rendered from its world
column: ``str`` as is, ``datetime`` as ``2024-03-01T09:00:00.000Z``, ``cents`` as a plain decimal
(``"1500.5"``), ``int`` as digits, ``id`` from the object id, ``none`` always null.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTACTS = "contacts"


@dataclass(frozen=True)
class PropertySpec:
    """One property: its HubSpot definition and how it is read from the world."""

    name: str
    label: str
    type: str  # string | number | datetime | date | enumeration | bool | phone_number
    field_type: str  # text | textarea | number | date | select | radio | booleancheckbox | ...
    group: str
    column: str | None = None  # world column (None: always null, or the object id)
    source: str = "str"  # str | datetime | cents | int | id | none
    options: tuple[str, ...] = ()
    read_only: bool = False
    unique: bool = False


@dataclass(frozen=True)
class ObjectSpec:
    """One CRM object type (``contacts``, ``deals`` ...)."""

    name: str  # plural, as in /crm/v3/objects/{name}
    singular: str
    type_id: str  # "0-1" ...
    table: str
    id_column: str
    created_property: str
    modified_property: str
    defaults: tuple[str, ...]  # properties returned when none are asked for
    searchable: tuple[str, ...]  # properties the free-text ``query`` looks at
    properties: tuple[PropertySpec, ...]
    kind: str | None = None  # hubspot_engagements.kind for notes / calls
    by_name: dict[str, PropertySpec] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {p.name: p for p in self.properties})


def _p(name: str, label: str, kind: str = "string", **extra: object) -> PropertySpec:
    field_types = {
        "string": "text",
        "number": "number",
        "datetime": "date",
        "date": "date",
        "enumeration": "select",
        "bool": "booleancheckbox",
        "phone_number": "phonenumber",
    }
    source = {"datetime": "datetime", "date": "datetime", "number": "int"}.get(kind, "str")
    values: dict[str, object] = {"column": name, "source": source}
    values.update(extra)
    return PropertySpec(name, label, kind, field_types[kind], **values)  # type: ignore[arg-type]


def _object_id(group: str) -> PropertySpec:
    return PropertySpec(
        "hs_object_id", "Record ID", "number", "number", group, None, "id", read_only=True
    )


LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)

SPECS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in (
        ObjectSpec(
            name="contacts",
            singular="contact",
            type_id="0-1",
            table="hubspot_contacts",
            id_column="contact_id",
            created_property="createdate",
            modified_property="lastmodifieddate",
            defaults=(
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ),
            searchable=("email", "firstname", "lastname", "phone"),
            properties=(
                _p("email", "Email", group="contactinformation", unique=True),
                _p("firstname", "First Name", group="contactinformation"),
                _p("lastname", "Last Name", group="contactinformation"),
                _p("phone", "Phone Number", "phone_number", group="contactinformation"),
                _p(
                    "associatedcompanyid",
                    "Primary Associated Company ID",
                    "number",
                    group="contactinformation",
                    column="company_id",
                ),
                _p(
                    "lifecyclestage",
                    "Lifecycle Stage",
                    "enumeration",
                    group="contactinformation",
                    options=LIFECYCLE_STAGES,
                ),
                _p("shopify_customer_id", "Shopify Customer ID", group="shopify_integration"),
                _p("createdate", "Create Date", "datetime", group="contactinformation"),
                _p(
                    "lastmodifieddate",
                    "Last Modified Date",
                    "datetime",
                    group="contactinformation",
                    read_only=True,
                ),
                _object_id("contactinformation"),
            ),
        ),
        ObjectSpec(
            name="companies",
            singular="company",
            type_id="0-2",
            table="hubspot_companies",
            id_column="company_id",
            created_property="createdate",
            modified_property="hs_lastmodifieddate",
            defaults=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
            searchable=("name", "domain"),
            properties=(
                _p("name", "Company name", group="companyinformation"),
                _p("domain", "Company Domain Name", group="companyinformation"),
                _p("industry", "Industry", group="companyinformation"),
                _p("city", "City", group="companyinformation"),
                _p("createdate", "Create Date", "datetime", group="companyinformation"),
                _p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    "datetime",
                    group="companyinformation",
                    read_only=True,
                ),
                _object_id("companyinformation"),
            ),
        ),
        ObjectSpec(
            name="deals",
            singular="deal",
            type_id="0-3",
            table="hubspot_deals",
            id_column="deal_id",
            created_property="createdate",
            modified_property="hs_lastmodifieddate",
            defaults=(
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ),
            searchable=("dealname",),
            properties=(
                _p("dealname", "Deal Name", group="dealinformation"),
                _p(
                    "amount",
                    "Amount",
                    "number",
                    group="dealinformation",
                    column="amount_cents",
                    source="cents",
                ),
                _p(
                    "dealstage",
                    "Deal Stage",
                    "enumeration",
                    group="dealinformation",
                    options=DEAL_STAGES,
                ),
                _p(
                    "pipeline",
                    "Pipeline",
                    "enumeration",
                    group="dealinformation",
                    options=("default",),
                ),
                _p("closedate", "Close Date", "datetime", group="dealinformation"),
                _p("createdate", "Create Date", "datetime", group="dealinformation"),
                _p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    "datetime",
                    group="dealinformation",
                    read_only=True,
                ),
                _object_id("dealinformation"),
            ),
        ),
        ObjectSpec(
            name="tickets",
            singular="ticket",
            type_id="0-5",
            table="hubspot_tickets",
            id_column="ticket_id",
            created_property="createdate",
            modified_property="hs_lastmodifieddate",
            defaults=(
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ),
            searchable=("subject", "content"),
            properties=(
                _p("subject", "Ticket name", group="ticketinformation"),
                _p("content", "Ticket description", group="ticketinformation"),
                _p(
                    "hs_pipeline",
                    "Pipeline",
                    "enumeration",
                    group="ticketinformation",
                    options=("0",),
                ),
                _p(
                    "hs_pipeline_stage",
                    "Ticket status",
                    "enumeration",
                    group="ticketinformation",
                    options=("1", "2", "3", "4"),
                ),
                _p(
                    "hs_ticket_priority",
                    "Priority",
                    "enumeration",
                    group="ticketinformation",
                    options=("LOW", "MEDIUM", "HIGH", "URGENT"),
                ),
                _p(
                    "hs_ticket_category",
                    "Category",
                    "enumeration",
                    group="ticketinformation",
                    column=None,
                    source="none",
                    options=(
                        "PRODUCT_ISSUE",
                        "BILLING_ISSUE",
                        "FEATURE_REQUEST",
                        "GENERAL_INQUIRY",
                    ),
                ),
                _p("order_name", "Order", group="ticketinformation"),
                _p("createdate", "Create date", "datetime", group="ticketinformation"),
                _p("closed_date", "Close date", "datetime", group="ticketinformation"),
                _p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    "datetime",
                    group="ticketinformation",
                    read_only=True,
                ),
                _object_id("ticketinformation"),
            ),
        ),
        ObjectSpec(
            name="notes",
            singular="note",
            type_id="0-46",
            table="hubspot_engagements",
            id_column="engagement_id",
            kind="note",
            created_property="hs_createdate",
            modified_property="hs_lastmodifieddate",
            defaults=("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
            searchable=("hs_note_body",),
            properties=(
                _p("hs_note_body", "Note body", group="engagement", column="body"),
                _p("hs_timestamp", "Activity date", "datetime", group="engagement"),
                _p(
                    "hs_createdate",
                    "Create date",
                    "datetime",
                    group="engagement",
                    column="createdate",
                ),
                _p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    "datetime",
                    group="engagement",
                    read_only=True,
                ),
                _object_id("engagement"),
            ),
        ),
        ObjectSpec(
            name="calls",
            singular="call",
            type_id="0-48",
            table="hubspot_engagements",
            id_column="engagement_id",
            kind="call",
            created_property="hs_createdate",
            modified_property="hs_lastmodifieddate",
            defaults=("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
            searchable=("hs_call_body",),
            properties=(
                _p("hs_call_body", "Call notes", group="call", column="body"),
                _p(
                    "hs_call_direction",
                    "Call direction",
                    "enumeration",
                    group="call",
                    column="call_direction",
                    options=("INBOUND", "OUTBOUND"),
                ),
                _p(
                    "hs_call_duration",
                    "Call duration",
                    "number",
                    group="call",
                    column="call_duration_ms",
                ),
                _p("hs_timestamp", "Activity date", "datetime", group="call"),
                _p("hs_createdate", "Create date", "datetime", group="call", column="createdate"),
                _p(
                    "hs_lastmodifieddate",
                    "Last Modified Date",
                    "datetime",
                    group="call",
                    read_only=True,
                ),
                _object_id("call"),
            ),
        ),
    )
}

# Every spelling of an object type the v3 paths accept: plural, singular, object type id.
ALIASES: dict[str, str] = {}
for _spec in SPECS.values():
    for _alias in (_spec.name, _spec.singular, _spec.type_id):
        ALIASES[_alias] = _spec.name


@dataclass(frozen=True)
class Pair:
    """An association between two object types, read from a world foreign key."""

    left: str  # object type holding the foreign key (its table: ``left`` spec's table)
    right: str
    column: str  # foreign key column (in the left type's table) holding the right id
    primary: bool = False  # primary company associations also come as "..._unlabeled"


PAIRS: tuple[Pair, ...] = (
    Pair("contacts", "companies", "company_id", primary=True),
    Pair("deals", "contacts", "contact_id"),
    Pair("deals", "companies", "company_id", primary=True),
    Pair("tickets", "contacts", "contact_id"),
    Pair("notes", "contacts", "contact_id"),
    Pair("notes", "tickets", "ticket_id"),
    Pair("calls", "contacts", "contact_id"),
    Pair("calls", "tickets", "ticket_id"),
)


def resolve(object_type: str) -> str | None:
    """The plural object type name for a path segment, or None when it is unknown."""
    return ALIASES.get(object_type.lower()) if object_type else None
