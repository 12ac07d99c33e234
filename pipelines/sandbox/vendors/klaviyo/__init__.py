"""Klaviyo emulator (``/klaviyo`` stands for ``https://a.klaviyo.com``).

Read (JSON:API, ``revision`` header, ``links.next`` cursors, filter grammar):
``GET /api/profiles``, ``/api/profiles/{id}``, ``/api/lists``, ``/api/lists/{id}``,
``/api/lists/{id}/profiles``, ``/api/metrics``, ``/api/events``, ``/api/campaigns`` (channel
filter required), ``/api/flows``.

Write (recorded in the ``klaviyo`` state document, see :mod:`.write`): ``POST /api/lists``,
``POST|DELETE /api/lists/{id}/relationships/profiles``, ``POST /api/profile-import``,
``POST /api/profile-bulk-import-jobs`` and ``GET .../{id}``, ``.../{id}/import-errors``,
``.../{id}/relationships/profiles``, ``POST /api/profile-subscription-bulk-create-jobs``,
``POST /api/profile-subscription-bulk-delete-jobs``, ``POST /api/data-privacy-deletion-jobs``.
"""

from pipelines.sandbox.vendors.klaviyo.emulator import KlaviyoEmulator

EMULATOR = KlaviyoEmulator

__all__ = ["EMULATOR", "KlaviyoEmulator"]
