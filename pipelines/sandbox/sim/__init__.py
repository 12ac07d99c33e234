"""The deterministic simulated retailer behind the sandbox.

One hidden timeline is simulated from ``start`` (``as_of`` - 730 days) to ``horizon``
(``as_of`` + 365 days); every event carries its own timestamp. The served world is the *cut* of
that timeline at the sandbox clock (see :mod:`pipelines.sandbox.sim.cut`).
"""
