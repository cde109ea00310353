"""A person across every package: what is held about them (held.py: the admin's page with
their history, and the whole of it for their own copy) and their erasure (erase.py).
Both read and change deliveries, bounces, events and subscriptions, so they sit above
delivery/ and bounces/, while subscribers/ stays below them (subscriptions, sign-up,
lifecycle): the staff acts are operators/subscribers.py's, the subscriber's own are the
preference centre's (web/preference_routes.py)."""
