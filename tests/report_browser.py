"""Headless Chromium (Debian's package, ``make chromium``) for the migration report's page, shared by
tests/unit/.../test_report.py and tests/integration/test_report.py."""

import shutil
import subprocess
from html.parser import HTMLParser

CHROMIUM = shutil.which("chromium")


class Rows(HTMLParser):
    """The data-vm of every element whose class list has ``css``."""

    def __init__(self, css):
        super().__init__()
        self.css, self.found = css, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.css in (attrs.get("class") or "").split():
            self.found.append(attrs.get("data-vm"))


def rows(dom, css="timeline-row"):
    parser = Rows(css)
    parser.feed(dom)
    return parser.found


def chromium(profile, *args):
    """Run headless Chromium with its log on stderr; no host name resolves, so nothing could be fetched."""
    assert CHROMIUM, "chromium is not installed: run `make chromium` (Debian's package)"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--user-data-dir=" + str(profile), "--host-resolver-rules=MAP * ~NOTFOUND",
               "--enable-logging=stderr", "--v=0"] + list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console_messages(stderr):
    """The page's console messages (Chromium logs each as ``CONSOLE(line)] "message", source: ...``)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def load(path, profile):
    """The DOM of the page at ``path`` after Chromium loaded it, and Chromium's log."""
    done = chromium(profile, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def screenshot(path, shot, profile):
    taken = chromium(profile, "--screenshot=" + str(shot), "--window-size=1400,1600", path.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 10000, taken.stderr[-2000:]
