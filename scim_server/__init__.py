"""SCIM 2.0 provisioning server for Auth0 Organizations."""
