"""The support views: why a person (not) has access, and whether the setup and the queue are sound.

``explain``, the mapping log's timeline, drift against Auth0 (``reconcile``), ``doctor`` and the
queue ``status``: read by the CLI, the admin API and the admin page. Built on the reconciliation
core (``scim_server.provisioning``) and the intake, never the reverse (import-linter).
"""
