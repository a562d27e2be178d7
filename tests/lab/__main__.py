"""python -m lab up|down|status|build  (state dir: $LAB_STATE_DIR, default <repo>/.lab)"""

import argparse
import sys
import time

from lab import build, cluster


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status", "build"))
    args = parser.parse_args(argv)
    if args.command == "up":
        started = time.monotonic()
        lab = cluster.start(reuse=True)
        print(f"lab up in {time.monotonic() - started:.1f} s")
        print(cluster.status(lab.state_dir))
    elif args.command == "down":
        cluster.stop()
        print("lab down")
    elif args.command == "build":
        for name in build.COMPONENTS:
            component = build.ensure(name)
            print(f"{name} {component.version}: {component.home / 'bin'}")
    else:
        print(cluster.status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
