#!/bin/sh
# The image's entrypoint: `docker run IMAGE ARGS...` runs `scim-server ARGS...`.
#
# Started as root (the default), it first gives the data directory to the server's user, so
# that a bind-mounted /data owned by the host's root is writable, then drops to that user.
# Started with --user, it runs as that user and changes no ownership. `serve` migrates the
# database first (an advisory lock serialises replicas that start together on PostgreSQL).
set -eu

data_dir="${SCIM_DATA_DIR:-/data}"
user="${SCIM_USER:-scim}"

if [ "$(id -u)" = 0 ]; then
    if [ -d "$data_dir" ]; then
        find "$data_dir" ! -user "$user" -exec chown "$user:$(id -gn "$user")" {} +
    fi
    exec setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$0" "$@"
fi

if [ "${1:-}" = serve ]; then
    scim-server migrate
fi
exec scim-server "$@"
