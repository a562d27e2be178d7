"""The kinds the simulated Forklift reads and writes."""

GROUP_VERSION = "forklift.konveyor.io/v1beta1"
PROVIDER = (GROUP_VERSION, "Provider")
FORKLIFT_CONTROLLER = (GROUP_VERSION, "ForkliftController")
CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
SECRET = ("v1", "Secret")
PVC = ("v1", "PersistentVolumeClaim")
OPERATOR_CSV_PREFIX = "mtv-operator."
HOST_PROVIDER = "host"
NETWORK_MAP = (GROUP_VERSION, "NetworkMap")
STORAGE_MAP = (GROUP_VERSION, "StorageMap")
NAD = ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition")
STORAGE_CLASS = ("storage.k8s.io/v1", "StorageClass")
PLAN = (GROUP_VERSION, "Plan")
VIRTUAL_MACHINE = ("kubevirt.io/v1", "VirtualMachine")
