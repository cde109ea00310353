"""Every staff act, and every staff read, for the three front doors alike: the command
line (cli/), the console (web/admin/) and the API (api/) call these and nothing below
them for staff work.

The shape of an act, the same in every module here (an act added later follows it):

    def verb(session, actor, ...ids and values already parsed...):
        require(actor, Permission.X)              # the role (staff/access.py), before any lookup
        row = <find it>; check_seen / check_acts  # the publication scope (staff/scope.py)
        with change(session, actor, Permission.X, "thing.verb", "thing:1") as ch:   # staff/audit.py
            ch.detail = <the domain's function>(session, row, ...)
        return ...

Reads do the first two steps only. An act that starts sending again (editions.resume,
retry, release_domain) commits and then calls the front door's `deliver` itself, once.
Input is parsed before it gets here, one way for every door: ids by lookups.parse_id,
days and times by times.py, subscriber filters by search.Filters.from_query.
"""
