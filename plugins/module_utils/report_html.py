# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration report as one self-contained HTML page (report.py builds the report it draws).

No template engine, no script, nothing fetched: inline CSS and inline SVG, and a Content-Security-Policy that lets
the browser load nothing else (so a page that tried would show a console error). Every text from the assessment
or the cluster is HTML-escaped. The same report gives the same bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_run
from ansible_collections.ontap.virtualization.plugins.module_utils.report import SEGMENT_KINDS, STATUSES

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
BAR_WIDTH = 640
BAR_HEIGHT = 26
COLORS = {"initialize": "#8d99ae", "precopy": "#4c8eda", "transfer": "#2b6cb0", "cutover": "#d69e2e",
          "conversion": "#805ad5", "creation": "#38a169", "other": "#a0aec0", "downtime": "#e53e3e"}
STATUS_CLASS = dict(zip(STATUSES, ("ready", "warn", "blocked")))
OUTCOME_CLASS = {"Succeeded": "ready", "Failed": "blocked", "Canceled": "warn"}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1a202c;background:#fff}
h1{margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #e2e8f0;padding-bottom:.3rem}
.meta{color:#4a5568;margin:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #e2e8f0;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e2e8f0;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f7fafc}
.badge{display:inline-block;border-radius:3px;padding:0 .4rem;font-size:.8rem;white-space:nowrap;background:#edf2f7}
.badge.ready{background:#c6f6d5;color:#22543d}.badge.warn{background:#fefcbf;color:#744210}
.badge.blocked{background:#fed7d7;color:#822727}
ul.reasons{margin:0;padding-left:1rem}.fix{color:#2c5282}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
td.bar{width:BAR_WIDTHpx}svg{display:block}
.none{color:#718096;font-style:italic}
""".replace("BAR_WIDTH", str(BAR_WIDTH))


def _text(value):
    return escape("" if value is None else str(value), quote=True)


def _duration(seconds):
    if seconds is None:
        return "running"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "{0}h {1:02d}m {2:02d}s".format(hours, minutes, secs) if hours else "{0}m {1:02d}s".format(minutes, secs)


def _badge(text, css):
    return '<span class="badge {0}">{1}</span>'.format(css, _text(text))


def _table(headers, rows, css=""):
    head = "".join("<th>{0}</th>".format(_text(h)) for h in headers)
    return '<table class="{0}"><thead><tr>{1}</tr></thead><tbody>{2}</tbody></table>'.format(
        css, head, "".join(rows))


def _reasons(reasons):
    if not reasons:
        return '<span class="none">none</span>'
    items = []
    for reason in reasons:
        text = "<b>{0}</b> ({1}): {2}".format(_text(reason.get("rule")), _text(reason.get("category")),
                                              _text(reason.get("message")))
        if reason.get("fix"):
            text += ' <span class="fix">Fix: {0}</span>'.format(_text(reason["fix"]))
        items.append("<li>{0}</li>".format(text))
    return '<ul class="reasons">{0}</ul>'.format("".join(items))


def _summary(report):
    summary = report["assessment"]["summary"]
    cards = [("VMs", summary.get("total")), ("ready", summary.get("ready")),
             ("ready with warnings", summary.get("ready_with_warnings")), ("blocked", summary.get("blocked")),
             ("vCPUs", summary.get("cpu")), ("memory (MiB)", summary.get("memory_mib")),
             ("disk (GiB)", summary.get("disk_gib"))]
    cards += [("migrated: " + outcome, count) for outcome, count in sorted(report["migrated"].items())]
    return '<div class="cards">{0}</div>'.format("".join(
        '<div class="card"><b>{0}</b>{1}</div>'.format(_text("-" if value is None else value), _text(label))
        for label, value in cards))


def _vm_rows(report):
    rows = []
    for vm in report["vms"]:
        cells = [_text(vm["name"]), _badge(vm["status"], STATUS_CLASS.get(vm["status"], "")), _text(vm["wave"] or "-"),
                 _text(vm["target_name"] or "-"), _text(vm["host"] or "-"), _text(vm["cpu"]), _text(vm["memory_mib"]),
                 _text(vm["disk_gib"]), _reasons(vm["reasons"])]
        rows.append('<tr class="vm-row" data-vm="{0}">{1}</tr>'.format(
            _text(vm["name"]), "".join("<td>{0}</td>".format(c) for c in cells)))
    return rows


def _wave_rows(report):
    return ['<tr class="wave-row"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>'.format(
        _text(wave["index"]), _text(wave["name"]), _text(", ".join(wave["vms"] or [])),
        _text(", ".join(wave["hosts"] or [])), _text(wave["disk_gib"])) for wave in report["waves"]]


class Scale(object):
    """Times of the report's window to x positions of a timeline bar."""

    def __init__(self, window):
        self.start = mtv_run.parse_time(window["start"]) if window else None
        end = mtv_run.parse_time(window["end"]) if window else None
        self.span = max((end - self.start).total_seconds(), 1.0) if window else 1.0

    def x(self, text, default):
        when = mtv_run.parse_time(text)
        if when is None or self.start is None:
            return default
        return round(min(max((when - self.start).total_seconds() / self.span, 0.0), 1.0) * BAR_WIDTH, 1)


def _rect(scale, segment, y, height):
    start = scale.x(segment["start"], 0.0)
    end = scale.x(segment["end"], BAR_WIDTH)
    title = "{0}: {1} to {2} ({3})".format(segment["label"], segment["start"], segment["end"] or "now",
                                           _duration(segment["seconds"]))
    return ('<rect class="seg {0}" x="{1}" y="{2}" width="{3}" height="{4}" fill="{5}"><title>{6}</title></rect>'
            .format(segment["kind"], start, y, max(end - start, 1.5), height, COLORS[segment["kind"]], _text(title)))


def _timeline_svg(run, scale):
    parts = [_rect(scale, segment, 2, 16) for segment in run["segments"]]
    if run["downtime"]:
        parts.append(_rect(scale, run["downtime"], 20, 5))
    if run["cutover"] and scale.start is not None:
        x = scale.x(run["cutover"], None)
        if x is not None:
            parts.append('<line class="cutover-at" x1="{0}" x2="{0}" y1="0" y2="{1}" stroke="#1a202c" '
                         'stroke-dasharray="3,2"><title>cutover set for {2}</title></line>'.format(
                             x, BAR_HEIGHT, _text(run["cutover"])))
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img">'
            '<rect x="0" y="0" width="{0}" height="{1}" fill="#f7fafc"/>{2}</svg>').format(
                BAR_WIDTH, BAR_HEIGHT, "".join(parts))


def _timeline_rows(report):
    scale = Scale(report["window"])
    rows = []
    for vm in report["vms"]:
        run = vm["run"]
        if run:
            who = "{0}<br>{1} plan {2}".format(_text(vm["name"]), _text(run["type"]), _text(run["plan"]))
            picture = _timeline_svg(run, scale)
            state = _badge(run["outcome"] or "{0} ({1})".format(run["phase"] or "Pending", run["step"] or "-"),
                           OUTCOME_CLASS.get(run["outcome"], ""))
            if run["downtime"]:
                state += "<br>downtime {0}".format(_text(_duration(run["downtime"]["seconds"])))
            if run["precopies"]:
                state += "<br>precopies {0}".format(_text(run["precopies"]))
            if run["error"]:
                state += "<br>error: {0}".format(_text(run["error"]))
        else:
            who = _text(vm["name"])
            picture = '<span class="none">not migrated</span>'
            state = _badge(vm["status"], STATUS_CLASS.get(vm["status"], ""))
        blockers = _reasons(vm["blockers"]) if vm["blockers"] else ""
        rows.append('<tr class="timeline-row" data-vm="{0}"><td>{1}</td><td class="bar">{2}</td><td>{3}</td>'
                    '<td>{4}</td></tr>'.format(_text(vm["name"]), who, picture, state, blockers))
    return rows


def _legend():
    return '<p class="legend">{0}</p>'.format("".join(
        '<span><i style="background:{0}"></i>{1}</span>'.format(COLORS[kind], kind) for kind in SEGMENT_KINDS)
        + '<span>dashed line: cutover time set</span>')


def render(report):
    """The page for ``report`` (a dict from report.build)."""
    assessment = report["assessment"]
    meta = []
    if report["generated_at"]:
        meta.append("Report of {0}.".format(_text(report["generated_at"])))
    if assessment["source"] or assessment["generated_at"]:
        meta.append("Assessment of {0} at {1}.".format(
            _text(assessment["source"] or "-"), _text(assessment["generated_at"] or "-")))
    window = report["window"]
    span = "From {0} to {1}.".format(_text(window["start"]), _text(window["end"])) if window else \
        "No VM has started migrating yet."
    plans = ['<tr class="plan-row"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>'.format(
        _text(p["namespace"] + "/" + p["name"]), _text(p["migration"] or ("-" if p["found"] else "no plan yet")),
        _text(p["outcome"] or "-"), _text(p["started"] or "-"), _text(p["completed"] or "-"))
        for p in report["plans"]]
    body = [
        "<header><h1>{0}</h1>{1}</header>".format(_text(report["title"]),
                                                  "".join('<p class="meta">{0}</p>'.format(m) for m in meta)),
        '<section id="summary"><h2>Readiness</h2>{0}<p class="meta">Statuses: {1}.</p></section>'.format(
            _summary(report), _text(", ".join(STATUSES))),
        '<section id="vms"><h2>Virtual machines</h2>{0}</section>'.format(_table(
            ["VM", "status", "wave", "target name", "ESXi host", "vCPUs", "memory (MiB)", "disk (GiB)",
             "reasons and fixes"], _vm_rows(report), "vms")),
        '<section id="waves"><h2>Waves</h2>{0}</section>'.format(_table(
            ["#", "wave", "VMs", "ESXi hosts", "disk (GiB)"], _wave_rows(report), "waves")
            if report["waves"] else '<p class="none">No waves.</p>'),
        '<section id="plans"><h2>Plans</h2>{0}</section>'.format(_table(
            ["plan", "migration", "outcome", "started", "completed"], plans, "plans")
            if plans else '<p class="none">No plans read.</p>'),
        '<section id="timeline"><h2>Migration timeline</h2><p class="meta">{0}</p>{1}{2}</section>'.format(
            span, _legend(), _table(["VM", "timeline", "outcome", "blockers"], _timeline_rows(report), "timeline")),
    ]
    if assessment["unanswered"]:
        body.append('<section id="unanswered"><h2>Not answered by the source</h2><ul>{0}</ul></section>'.format(
            "".join("<li>{0}</li>".format(_text(item)) for item in assessment["unanswered"])))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="{0}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>{1}</title><style>{2}</style></head>\n<body>\n{3}\n</body></html>\n').format(
                CSP, _text(report["title"]), STYLE, "\n".join(body))
