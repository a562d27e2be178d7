"""Detached lab processes: start, identify, wait for, inspect and stop them by pid."""

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Proc:
    """A started process; `started` (its start time in clock ticks) guards against pid reuse."""
    name: str
    pid: int
    started: int
    command: list
    log: str

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Proc":
        return cls(**data)

    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.started


def _stat_fields(pid: int):
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields after "pid (comm) "


def _start_ticks(pid: int):
    """The process start time, or None when it is gone or a zombie."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


# Below the kernel's ephemeral range: a port picked there could be taken by any outgoing connection (another lab's
# clients, pip) between our check and the server's bind ("address already in use" at start).
LOWEST_PORT = 10000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A port on 127.0.0.1 free now, from below the ephemeral range (any free port where that range is unknown)."""
    try:
        first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = LOWEST_PORT
    chance = random.SystemRandom()
    for _attempt in range(100):
        port = chance.randrange(LOWEST_PORT, first_ephemeral) if first_ephemeral > LOWEST_PORT else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1 below {0} after 100 tries".format(first_ephemeral))


def spawn(name: str, command: list, log: Path, env=None) -> Proc:
    """Start `command` in its own session so it outlives the caller; output goes to `log`."""
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            [str(c) for c in command], stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )
    started = _start_ticks(popen.pid)
    return Proc(name, popen.pid, started, [str(c) for c in command], str(log))


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child (tests start labs in-process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_until(check, what: str, proc: Proc = None, timeout: float = START_TIMEOUT):
    """Poll `check()` until it returns something truthy; fail early if `proc` dies."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception as error:  # not up yet: connection refused, 503, missing file...
            result, last = None, error
        else:
            last = None
        if result:
            return result
        if proc is not None:
            _reap(proc.pid)
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited while waiting for {what}; see {proc.log}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                               + (f" (last error: {last})" if last else ""))
        time.sleep(0.2)


def stop(proc: Proc, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group the lab started, then SIGKILL it if it lingers."""
    if not proc.alive():
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)  # start_new_session made the pid its group id
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(proc.pid)
            if not proc.alive():
                return
            time.sleep(0.1)


def _socket_inodes(pid: int) -> set:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _decode_address(hex_address: str) -> tuple:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # /proc/net/tcp6 stores four little-endian 32-bit words
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        ip = socket.inet_ntop(socket.AF_INET6, words)
    return ip, int(port, 16)


def listeners(pid: int) -> list:
    """(ip, port) of every TCP socket in LISTEN state that the process holds."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = TCP_LISTEN
                found.append(_decode_address(fields[1]))
    return sorted(set(found))
