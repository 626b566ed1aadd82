"""Write the nginx site for a PlugIt platform: deploy/nginx/plugit.conf.template, filled in.

    python3 deploy/nginx/render.py --server-name platform.example.org \
        --certificate /etc/ssl/certs/platform.pem --key /etc/ssl/private/platform.key \
        --ports 8001,8002 > /etc/nginx/sites-available/plugit

Standard library only: it runs with any Python 3, inside the platform's virtualenv or not.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("plugit.conf.template")
FIELD = re.compile(r"\$\{([A-Z_]+)\}")
HTTPS_DEFAULT_PORT = 443


def parse_ports(text: str) -> list[int]:
    """The platform processes' ports, comma-separated: `8001,8002`."""
    try:
        ports = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of ports: {text!r}") from None
    if not ports or any(not 0 < port < 65536 for port in ports):
        raise argparse.ArgumentTypeError(f"ports are 1 to 65535: {text!r}")
    return ports


def build_parser() -> argparse.ArgumentParser:
    """The command line: every field of the template, with production defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--server-name",
        action="append",
        required=True,
        help="a host name nginx answers for (repeatable: the platform's, *.projects domain)",
    )
    parser.add_argument("--certificate", required=True, help="the TLS certificate (PEM) path")
    parser.add_argument("--key", required=True, help="the certificate's private key path")
    parser.add_argument(
        "--ports",
        type=parse_ports,
        default=[8001, 8002],
        help="the platform processes' ports on 127.0.0.1 (default: 8001,8002)",
    )
    parser.add_argument("--http-port", type=int, default=80, help="default: 80")
    parser.add_argument("--https-port", type=int, default=HTTPS_DEFAULT_PORT, help="default: 443")
    parser.add_argument(
        "--hsts-seconds", type=int, default=31536000, help="HSTS max-age (default: one year)"
    )
    parser.add_argument(
        "--max-body", default="10m", help="client_max_body_size (default: 10m, as PLUGIT_MAX_BODY)"
    )
    return parser


def render(args: argparse.Namespace, template: str) -> str:
    """The template with every ${FIELD} replaced."""
    suffix = "" if args.https_port == HTTPS_DEFAULT_PORT else f":{args.https_port}"
    fields = {
        "UPSTREAM_SERVERS": "\n".join(
            f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in args.ports
        ),
        "SERVER_NAMES": " ".join(args.server_name),
        "TLS_CERTIFICATE": args.certificate,
        "TLS_CERTIFICATE_KEY": args.key,
        "HTTP_PORT": str(args.http_port),
        "HTTPS_PORT": str(args.https_port),
        "HTTPS_PORT_SUFFIX": suffix,
        "HSTS_SECONDS": str(args.hsts_seconds),
        "MAX_BODY": args.max_body,
    }
    return FIELD.sub(lambda match: fields[match.group(1)], template)


def main(argv: list[str] | None = None) -> int:
    """Print the rendered site on stdout."""
    args = build_parser().parse_args(argv)
    for value in [*args.server_name, args.certificate, args.key, args.max_body]:
        if not value.strip() or any(char in value for char in ';{}"\n'):
            message = f"not usable in nginx's configuration: {value!r}"
            print(f"render.py: error: {message}", file=sys.stderr)
            return 2
    sys.stdout.write(render(args, TEMPLATE.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
