"""Delivery, the bulk pipeline: one record per (edition, subscriber), planned, fanned out
in batches, claimed, sent and recorded exactly where it stands, with the operator's acts
on a send under way (send_acts.py: pause, resume, cancel, retry), holds of a domain,
relay outages, the sweeper and the alerts raised to operators. Messages leave through
transport/; one-off personal mail is mail/'s; DKIM is dkim/'s."""
