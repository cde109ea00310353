"""Transport: how a finished message leaves the machine, whatever it is. The backends
(SMTP relay, outbox folder, memory for tests) behind one `Backend` protocol, the SMTP
client that keeps a connection open across a batch, the shared rate limit, and the one
place where every outcome of a send is classified (failures.py). Nothing here knows
about editions, subscribers or the database: delivery/ and mail/ call it."""
