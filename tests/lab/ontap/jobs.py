"""Jobs: how ONTAP reports the outcome of an asynchronous request.

The stand-in does the work while answering the request, so a job is already finished
(success or failure) when the client first sees it; clients that poll find it done at once.
"""

from netapp_ontap.resources import Job

from . import errors
from .resource import Resource, href, now

_KEEP = 500  # ONTAP expires finished jobs too; the lab keeps the most recent ones


def record(ctx, description: str, svm: dict | None, failure: errors.OntapError | None) -> dict:
    jobs = ctx.table("jobs")
    stamp = now()
    job = {
        "uuid": ctx.new_uuid(),
        "description": description,
        "state": "failure" if failure else "success",
        "message": failure.message if failure else "success",
        "code": int(failure.code) if failure else 0,
        "start_time": stamp,
        "end_time": stamp,
    }
    if svm:
        job["svm"] = svm
    jobs.append(job)
    del jobs[:-_KEEP]
    return job


def link(job: dict) -> dict:
    return {"job": {"uuid": job["uuid"], "_links": {"self": {"href": href("cluster", "jobs", job["uuid"])}}}}


class Jobs(Resource):
    ontap = Job
    table = "jobs"
    default_fields = ("uuid",)
    owner = "svm.uuid"
