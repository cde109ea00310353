"""Publications: what is sent, from whom, with which sections, on which schedule."""
