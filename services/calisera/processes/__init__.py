"""The platform's processes beside (and around) the HTTP services.

- :mod:`~calisera.processes.up`: ``calisera up``, the whole platform on one machine;
- :mod:`~calisera.processes.server`: the HTTP server of ``up`` and ``calisera serve``;
- :mod:`~calisera.processes.supervisor`: ``up``'s children, restarted with backoff;
- :mod:`~calisera.processes.relay`: ``calisera relay``, outbox to consumer queues;
- :mod:`~calisera.processes.worker`: ``calisera worker <queue>``, one consumer's Celery worker;
- :mod:`~calisera.processes.deliveries`: the ``relay.deliveries`` table's statements;
- :mod:`~calisera.processes.dead_letters`: ``calisera dlq list|replay``;
- :mod:`~calisera.processes.routing`: which consumer takes which events.

Like :mod:`calisera.assembly`, this package may import services; no service and nothing
in :mod:`calisera.core` imports it (import-linter keeps it so).
"""
