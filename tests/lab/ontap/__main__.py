"""python -m lab.ontap serve --state-dir DIR --listen 127.0.0.1:PORT [--tls-cert F --tls-key F [--tls-ca F]]"""

import argparse
import signal
import sys

from .server import OntapServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.ontap", description="The lab's ONTAP REST stand-in.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="seed DIR if empty, serve HTTPS, write DIR/endpoint.json")
    serve.add_argument("--state-dir", required=True)
    serve.add_argument("--listen", default="127.0.0.1:0", help="loopback host:port (port 0 picks a free one)")
    serve.add_argument("--tls-cert", help="server certificate (PEM); a self-signed one is made without it")
    serve.add_argument("--tls-key", help="its private key (PEM)")
    serve.add_argument("--tls-ca", help="the CA that signed --tls-cert, for endpoint.json's ca_cert")
    args = parser.parse_args(argv)
    try:
        server = OntapServer(args.state_dir, args.listen, args.tls_cert, args.tls_key, args.tls_ca)
    except ValueError as exc:
        parser.error(str(exc))
    server.bind()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
