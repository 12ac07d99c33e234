"""HubSpot CRM emulator (``/hubspot`` stands for ``https://api.hubapi.com``).

Auth: ``Authorization: Bearer <private app token>``; anything else gets 401
``INVALID_AUTHENTICATION``. Errors use HubSpot's body
``{"status":"error","message","correlationId","category"}``.

Read endpoints (object types: contacts, companies, deals, tickets, notes, calls; also by
singular name or object type id such as ``0-1``):

- ``GET /crm/v3/objects/{objectType}``: ``limit`` (1..100, default 10), ``after`` (the next id),
  ``properties`` (default set per type), ``associations``, ``archived`` (true: only archived
  records, with ``archivedAt``); ``paging.next.{after,link}`` with an absolute link that repeats
  the query. ``propertiesWithHistory`` and unknown parameters are ignored, as HubSpot does.
- ``GET /crm/v3/objects/{objectType}/{objectId}`` (``idProperty=email`` for contacts).
- ``POST /crm/v3/objects/{objectType}/search``: filterGroups (5 groups, 10 filters per group, 25
  in all), operators EQ NEQ LT LTE GT GTE BETWEEN IN NOT_IN HAS_PROPERTY NOT_HAS_PROPERTY
  CONTAINS_TOKEN NOT_CONTAINS_TOKEN, one sort, ``query``, ``limit`` <= 200, numeric ``after``;
  at most 10,000 results per query (``after + limit`` beyond that is a 400); never archived.
- ``GET /crm/v3/properties/{objectType}`` and ``.../{propertyName}``: property definitions.
- ``POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read``: associations of
  <= 100 records (search results come without them); 207 with ``errors`` for ids without any.

Write endpoints (reverse sync):

- ``POST /crm/v3/objects/contacts/batch/upsert``: <= 100 inputs by ``email`` or id; unknown,
  read-only or invalid property values fail the whole batch with 400 ``Property values were not
  valid: [...]``.
- ``POST /crm/v3/properties/{objectType}``: custom properties (409 when the name exists).
- ``POST /crm/v3/lists``, ``GET /crm/v3/lists/{listId}``, ``DELETE /crm/v3/lists/{listId}``,
  ``GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}``,
  ``GET /crm/v3/lists/{listId}/memberships``, ``PUT .../memberships/add``, ``.../remove``,
  ``.../add-and-remove`` (MANUAL/SNAPSHOT lists only; <= 100,000 ids per request; answers
  ``recordsIdsAdded`` (HubSpot's spelling), ``recordIdsRemoved``, ``recordIdsMissing``).
- ``POST /crm/v3/objects/contacts/gdpr-delete`` -> 204; the contact disappears from reads.

Writes show up in later reads (updated and created contacts, custom property columns).

State document (``server.state("hubspot")``)::

    {
      "contacts": {"<id>": {"id", "email", "new": bool, "properties": {name: value sent},
                            "createdAt", "updatedAt"}},
      "properties": {"<objectType>": {"<name>": <property definition>}},
      "lists": {"<listId>": {"listId", "name", "objectTypeId", "processingType", "listVersion",
                             "processingStatus", "createdAt", "updatedAt", ...,
                             "members": {"<recordId>": "<membershipTimestamp>"}}},
      "gdpr_deletions": [{"objectId", "idProperty", "contactId", "email", "deletedAt"}],
      "next_ids": {"contact": n, "list": n}
    }

Timestamps written by the emulator are the sandbox clock (``meta.json``), in HubSpot's format.
"""

from pipelines.sandbox.vendors.hubspot.emulator import HubSpotEmulator

EMULATOR = HubSpotEmulator

__all__ = ["EMULATOR", "HubSpotEmulator"]
