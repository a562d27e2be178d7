"""The cluster itself, its nodes and job schedules."""

from netapp_ontap.resources import Cluster as OntapCluster
from netapp_ontap.resources import Node, Schedule

from ..resource import Resource

VERSION = {"generation": 9, "major": 16, "minor": 1,
           "full": "NetApp Release 9.16.1: Thu Nov 21 08:12:34 UTC 2024"}


class Cluster(Resource):
    ontap = OntapCluster
    table = "cluster"
    singleton = True
    owner = None
    # SVM administrators read the cluster's identity and version; Trident asks it first.
    svm_methods = frozenset({"GET"})
    default_fields = ("name", "uuid", "version")


class Nodes(Resource):
    ontap = Node
    table = "nodes"
    owner = None
    svm_methods = frozenset()


class Schedules(Resource):
    ontap = Schedule
    table = "schedules"
    owner = None
    svm_methods = frozenset({"GET"})


def cluster_record(uuid: str, name: str) -> dict:
    return {
        "name": name,
        "uuid": uuid,
        "version": dict(VERSION),
        "san_optimized": False,
        "disaggregated": False,
        "location": "ontap.virtualization lab",
        "contact": "",
        "dns_domains": ["lab.local"],
        "name_servers": [],
        "ntp_servers": [],
        "timezone": {"name": "Etc/UTC"},
        "management_interfaces": [{"name": "cluster_mgmt", "uuid": uuid, "ip": {"address": "127.0.0.1"}}],
    }


def node_record(uuid: str, name: str, number: int, partner: dict, created: str) -> dict:
    return {
        "name": name,
        "uuid": uuid,
        "serial_number": f"72192400{number:04d}",
        "system_id": f"053795{number:04d}",
        "model": "AFF-A250",
        "vendor_serial_number": f"72192400{number:04d}",
        "version": dict(VERSION),
        "state": "up",
        "membership": "available",
        "location": "ontap.virtualization lab",
        "owner": "",
        "uptime": 86400,
        "date": created,
        "ha": {"enabled": True, "auto_giveback": True,
               "partners": [partner],
               "giveback": {"state": "nothing_to_giveback"},
               "takeover": {"state": "not_attempted"}},
        "controller": {"cpu": {"count": 12, "processor": "Intel(R) Xeon(R) CPU D-2164IT @ 2.10GHz"},
                       "memory_size": 137438953472, "over_temperature": "normal"},
        "management_interfaces": [],
    }


def schedule_record(uuid: str, name: str, cron: dict) -> dict:
    return {"name": name, "uuid": uuid, "type": "cron", "cron": cron, "scope": "cluster"}
