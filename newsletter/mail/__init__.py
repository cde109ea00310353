"""Personal mail: the one-off messages sent to one person at a time, never counted as a
delivery of an edition. Signup confirmations, welcome and address-change mail
(account_mail.py), an editor's proof of an edition (proof.py), all built and signed the
same way (oneoff.py: DKIM, no List-Unsubscribe) and sent through transport/. The
alerts to a publication's operators are raised by the pipeline (delivery/alerts.py)
and go out through oneoff.py too."""
