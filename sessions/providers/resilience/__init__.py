"""Provider resilience: fallback chain, circuit breaker, client-side rate limits, call audit,
model lists and prices, around the wire adapters of ``sessions.providers``.

The engine's entry point is ``hub.ResilienceHub`` (``from_config`` then ``provider_factory``);
``hub.build_provider`` is the one-call form. Submodules are imported on use, so importing this
package costs nothing.
"""
