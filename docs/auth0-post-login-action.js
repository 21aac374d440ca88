/**
 * Auth0 post-login Action: tell scim-server who logged in, so that people provisioned by SCIM
 * into an organization in mode `link` (enterprise connections, where Auth0 cannot create users
 * ahead of their first login) get their membership and roles.
 *
 * Secrets (Actions > this Action > Secrets):
 *   SCIM_SERVER_URL   e.g. https://scim.example.com   (no trailing slash)
 *   SCIM_HOOK_SECRET  the same value as the server's SCIM_HOOK_SECRET
 *
 * The call never blocks or fails a login: it times out after 3 s and errors are ignored
 * (the whole trigger must finish within 20 s). The server links the user and its worker adds the
 * membership and roles through the Management API a moment later; roles apply from the next
 * token (a login through the organization, or a silent refresh).
 */
exports.onExecutePostLogin = async (event, api) => {
  const organization = event.organization;
  if (!organization || !event.user.email) {
    return; // not an organization login, or no email to match the SCIM user on
  }
  if (event.transaction && event.transaction.protocol === "oauth2-refresh-token") {
    return; // refreshes are not logins
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3000);
  try {
    await fetch(`${event.secrets.SCIM_SERVER_URL}/hooks/auth0/login`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${event.secrets.SCIM_HOOK_SECRET}`,
      },
      body: JSON.stringify({
        user_id: event.user.user_id,
        email: event.user.email,
        org_id: organization.id,
        org_name: organization.name,
        connection: event.connection.name,
      }),
      signal: controller.signal,
    });
  } catch (error) {
    console.log(`scim-server login hook failed: ${error}`);
  } finally {
    clearTimeout(timer);
  }
};
