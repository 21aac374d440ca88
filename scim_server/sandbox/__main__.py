"""Run the emulator on its own: ``python -m scim_server.sandbox --port 8123``.

It prints the URL and the client credentials to give the server (``AUTH0_MANAGEMENT_URL``,
``AUTH0_CLIENT_ID``, ``AUTH0_CLIENT_SECRET``) and seeds the demo tenant unless told not to.
"""

import argparse
import secrets
import socket
import sys

import uvicorn

from scim_server.sandbox.app import Emulator
from scim_server.sandbox.seeding import DEMO
from scim_server.sandbox.seeding import seed_tenant


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, seed, print how to connect, and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m scim_server.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default=None, help="default: a random secret")
    parser.add_argument(
        "--rps", type=float, default=None, help="Management API rate; default unlimited"
    )
    parser.add_argument(
        "--burst", type=int, default=None, help="bucket size; default: rps rounded up"
    )
    parser.add_argument("--no-demo", action="store_true", help="start with an empty tenant")
    args = parser.parse_args(argv)
    secret = args.client_secret or secrets.token_urlsafe(24)
    emulator = Emulator(
        client_id=args.client_id, client_secret=secret, rps=args.rps, burst=args.burst
    )
    created = seed_tenant(emulator.tenant, {} if args.no_demo else DEMO)
    url = f"http://{args.host}:{args.port}"
    lines = [
        f"Auth0 emulator at {url} (admin surface at {url}/__emulator__/state)",
        f"AUTH0_MANAGEMENT_URL={url}",
        f"AUTH0_DOMAIN={args.host}:{args.port}",
        f"AUTH0_CLIENT_ID={args.client_id}",
        f"AUTH0_CLIENT_SECRET={secret}",
    ]
    lines += [f"organization {o['name']} = {o['id']}" for o in created["organizations"]]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    # Accepted sockets inherit TCP_NODELAY; without it uvicorn's h11 writes meet delayed ACKs
    # and every request takes 40 ms.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((args.host, args.port))
    server = uvicorn.Server(uvicorn.Config(emulator, log_level="warning", lifespan="off"))
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
