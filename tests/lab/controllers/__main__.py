"""python -m lab.controllers --state-dir DIR --kubeconfig FILE --ready-file FILE

Runs every simulated operator in one process, under its own identity (a client
certificate for the user ``system:serviceaccount:lab:controllers``), so that the
audit log tells the lab's writes apart from the ones under test. The ready file is
written once the webhooks are registered and every informer has listed its kind.
"""

import argparse
import importlib
import logging
import os
import pkgutil
import signal
import sys
from pathlib import Path

import yaml
from kubernetes import dynamic

from lab import kubeconfig, pki
from lab import controllers
from lab.controllers.runtime import Api, Manager
from lab.webhooks import WebhookServer

USER = "system:serviceaccount:lab:controllers"
CONNECTIONS = 128


def _identity(state_dir: Path, admin_kubeconfig: Path) -> Path:
    """A kubeconfig for the controllers' own user, signed by the lab CA."""
    ca = pki.CA(state_dir / "pki")
    server = yaml.safe_load(admin_kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    credentials = ca.issue("lab-controllers", USER, organizations=["system:masters"])
    return kubeconfig.write(state_dir / "pki" / "lab-controllers.kubeconfig", server, ca, USER, credentials)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.controllers", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)
    args.ready_file.unlink(missing_ok=True)
    os.environ["LAB_STATE_DIR"] = str(args.state_dir)  # lab.paths.state_dir() for the operators' own servers
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(levelname)s %(message)s")

    api_client = kubeconfig.api_client(_identity(args.state_dir, args.kubeconfig))
    # Every informer holds a watch connection and every worker may call at once: one pool slot each.
    api_client.rest_client.pool_manager.connection_pool_kw["maxsize"] = CONNECTIONS
    api = Api(dynamic.DynamicClient(api_client),
              component="lab-controllers")
    manager = Manager(api)
    webhooks = WebhookServer(pki.CA(args.state_dir / "pki"), name="lab-controllers-webhooks").start()
    for module_info in pkgutil.iter_modules(controllers.__path__):
        module = importlib.import_module(f"{controllers.__name__}.{module_info.name}")
        if hasattr(module, "setup"):
            module.setup(manager, webhooks)
            logging.info("loaded %s", module_info.name)
    signal.signal(signal.SIGTERM, lambda *_: manager.stopping.set())
    manager.run(on_synced=lambda: args.ready_file.write_text(f"{os.getpid()}\n"))
    webhooks.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
