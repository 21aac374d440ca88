"""The reconciliation core: what Auth0 should hold for each SCIM user, and the worker that makes it so.

Desired state and role resolution (pure), the planner (pure), the reconciler and its Auth0
effects, the durable queue's worker, its retry policy and metrics. It knows nothing of HTTP or
of the support views built on it (``scim_server.support``); docs/architecture.md draws the path
of one SCIM write from the request to Auth0.
"""
