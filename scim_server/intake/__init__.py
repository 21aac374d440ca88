"""Where the IdP's changes come in: one organization's SCIM requests, served over SQL storage.

Authentication and tenancy, the SCIM handler (scim2-server's, with O(k) group member PATCHes),
and the storage that writes the resource, the desired state of every user it affects, their
sync tasks and the mapping log in the request's one transaction. It never calls Auth0.
"""
