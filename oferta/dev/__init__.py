"""Local tools for ./run and the tests: the launcher, the dev Temporal server, the mail and SMS sinks.

Never imported by the worker, the activities, the workflows or the core; the API imports only
the sinks' readers, for the local inbox that answers on loopback.
"""
