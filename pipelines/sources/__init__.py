"""dlt sources, one package per vendor (``@dlt.source`` in ``__init__.py``, ``helpers.py``,
``settings.py``); the registry of runnable sources is ``pipelines.ingest.SOURCES``."""
