"""The `newsletter` command line."""
