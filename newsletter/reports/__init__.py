"""Figures over what was sent and what readers did: per edition, per day, per
publication (sent, failed by class, unsubscribes by method, bounces, complaints, counted
clicks). Reports read deliveries (with the tallies of rows erased or rolled up), events
and click counts; nothing below them reads a report, which is why they are a package of
their own rather than part of tracking/ (which records the events) or delivery/."""
