"""HubSpot CRM constants: API paths (the version is part of every path), page sizes, limits, and the
object types loaded with the properties and associations each needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SOURCE = "hubspot"
API_BASE_URL = "https://api.hubapi.com"

# The API version is pinned in the paths: CRM objects, search and properties v3, associations v4.
OBJECTS_PATH = "/crm/v3/objects"
PROPERTIES_PATH = "/crm/v3/properties"
ASSOCIATIONS_PATH = "/crm/v4/associations"

LIST_PAGE_SIZE = 100  # GET /crm/v3/objects/{type}: at most 100
SEARCH_PAGE_SIZE = 200  # POST .../search: at most 200
SEARCH_RESULT_CAP = 10_000  # one search query never pages past 10,000 results (400 beyond)
SEARCH_REQUESTS_PER_SECOND = 5.0  # per token; paced client-side
SEARCH_IDS_PER_QUERY = 100  # values of one IN filter
ASSOCIATION_BATCH_SIZE = 100  # ids per v4 batch read (HubSpot's limit since 2025)
# First run: the list endpoint (cheaper: 100 records with their associations per request); every
# later run searches what changed. Tests turn it off to run the search path on a first run.
INITIAL_LOAD_WITH_LIST = True

# Parquet load files: DuckDB reads them in bulk (its default, INSERT statements, is much slower).
LOADER_FILE_FORMAT: Final = "parquet"

# Rate-limit headers of non-search answers (a rolling 10 s window); below RESERVE left, pace.
RATE_LIMIT_RESERVE = 5
DEFAULT_WINDOW_SECONDS = 10.0
SECONDLY_WAIT_SECONDS = 1.0

# Number properties that hold record ids: loaded as bigint rather than decimal.
ID_PROPERTIES = frozenset({"hs_object_id", "associatedcompanyid"})


@dataclass(frozen=True)
class ObjectType:
    """A CRM object type: its path name, modified-date property, properties and associations."""

    name: str  # plural, as in /crm/v3/objects/{name}; also the table name
    singular: str  # for the association tables' key columns (contact_id, company_id ...)
    modified_property: str  # the search cursor
    properties: tuple[str, ...]  # requested when the portal defines them
    associations: tuple[str, ...] = ()  # object types whose ids land in child tables
    scope: str = ""  # the private-app scope reading this type needs


OBJECT_TYPES: tuple[ObjectType, ...] = (
    ObjectType(
        name="contacts",
        singular="contact",
        modified_property="lastmodifieddate",
        properties=(
            "email",
            "firstname",
            "lastname",
            "phone",
            "mobilephone",
            "company",
            "associatedcompanyid",
            "lifecyclestage",
            "hs_lead_status",
            "shopify_customer_id",
            "hs_merged_object_ids",
            "city",
            "state",
            "zip",
            "country",
            "total_revenue",
            "createdate",
            "lastmodifieddate",
            "hs_object_id",
        ),
        associations=("companies",),
        scope="crm.objects.contacts.read",
    ),
    ObjectType(
        name="companies",
        singular="company",
        modified_property="hs_lastmodifieddate",
        properties=(
            "name",
            "domain",
            "industry",
            "phone",
            "city",
            "state",
            "country",
            "numberofemployees",
            "annualrevenue",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        scope="crm.objects.companies.read",
    ),
    ObjectType(
        name="deals",
        singular="deal",
        modified_property="hs_lastmodifieddate",
        properties=(
            "dealname",
            "amount",
            "deal_currency_code",
            "dealstage",
            "pipeline",
            "closedate",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        associations=("contacts", "companies"),
        scope="crm.objects.deals.read",
    ),
    ObjectType(
        name="tickets",
        singular="ticket",
        modified_property="hs_lastmodifieddate",
        properties=(
            "subject",
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_priority",
            "hs_ticket_category",
            "order_name",
            "createdate",
            "closed_date",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        associations=("contacts",),
        scope="tickets",
    ),
    ObjectType(
        name="notes",
        singular="note",
        modified_property="hs_lastmodifieddate",
        properties=(
            "hs_note_body",
            "hs_timestamp",
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        associations=("contacts", "tickets"),
        scope="crm.objects.contacts.read",
    ),
    ObjectType(
        name="calls",
        singular="call",
        modified_property="hs_lastmodifieddate",
        properties=(
            "hs_call_title",
            "hs_call_body",
            "hs_call_direction",
            "hs_call_duration",
            "hs_call_status",
            "hs_timestamp",
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        associations=("contacts", "tickets"),
        scope="crm.objects.contacts.read",
    ),
)

SINGULAR = {object_type.name: object_type.singular for object_type in OBJECT_TYPES}
