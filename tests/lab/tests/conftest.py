"""The lab's own tests: one lab per session (see lab.fixtures), and the suites beside this file.

control_plane/ checks the real parts (API server, etcd, vcsim, CRDs, webhooks, listeners),
ontap/ the ONTAP REST stand-in, storage/ and virt/ the simulated operators: each test cites
the upstream behaviour it holds the lab to.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, home of `lab`

from lab.fixtures import (api_client, api_warnings, core_v1, custom_objects, dynamic_client, lab,  # noqa: E402,F401
                          namespace, user_client)
