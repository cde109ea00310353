"""The subscriber web: one-click unsubscribe, preference centre, sign-up, view online."""
