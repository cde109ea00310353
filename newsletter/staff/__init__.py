"""Staff: accounts with roles, sessions, API tokens, and the audit log of their changes.

The three front doors (command line, console, REST API) turn their caller into an
`Actor` (access.py); domain functions check the actor's role against one table
(access.PERMISSIONS) and record every change in one place (audit.change)."""
