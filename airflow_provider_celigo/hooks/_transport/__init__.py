"""The one request path both hooks use, piece by piece.

- ``urls``: absolute URLs from API paths; links kept on the API host.
- ``clients``: headers (Bearer, User-Agent), the shared TLS context, the token's masking.
- ``retry``: which failures are retried and how long to wait (the tenacity policy factory).
- ``concurrency``: the per-connection cap on calls in flight (the connection's concurrency level).
- ``deadline``: one deadline per call, over connect, every read and the whole body.
- ``pacing``: the per-connection pause after a 429.
- ``paging``: following ``Link: rel="next"``.
- ``responses``: turning responses (or their absence) into the provider's errors, decoding bodies.
"""
