"""borgkit objects: Kubernetes object models, values, the codec, validation, defaulting and the registry.

Start with :func:`from_dict`, :func:`to_dict` and :func:`load`; see docs/objects.md.
"""
from .affinity import (Affinity, NodeAffinity, PodAffinity, PodAffinityTerm, PodAntiAffinity,
                       PreferredSchedulingTerm, TopologySpreadConstraint, WeightedPodAffinityTerm)
from .apps import (DaemonSet, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, Deployment,
                   DeploymentSpec, DeploymentStatus, DeploymentStrategy, PodTemplateSpec, ReplicaSet,
                   ReplicaSetSpec, ReplicaSetStatus, RollingUpdateDaemonSet, RollingUpdateDeployment)
from .batch import Job, JobSpec, JobStatus
from .codec import KINDS, dumps_yaml, from_dict, from_msgpack, kind_class, load, register_kind, to_dict, to_msgpack
from .controllerrevision import ControllerRevision
from .coordination import Lease, LeaseSpec
from .core import (ConfigMap, Container, ContainerImage, ContainerPort, EndpointAddress, EndpointPort, Endpoints,
                   EndpointSubset, Namespace, NamespaceSpec, NamespaceStatus, Node, NodeAddress, NodeSpec,
                   NodeStatus, Pod, PodSchedulingGate, PodSpec, PodStatus, Service, ServicePort, ServiceSpec)
from .discovery import Endpoint, EndpointConditions, EndpointSlice, EndpointSlicePort
from .defaulting import DEFAULT_SCHEDULER_NAME, apply_defaults
from .errors import (AlreadyExists, BadRequest, Conflict, Expired, FieldError, Invalid, NotFound, ObjectsError,
                     ServerTimeout, Unavailable, UnknownResourceType, ValidationError)
from .event import Event, EventSource, ObjectReference
from .fields import FieldSelector
from .generic import GenericObject
from .labels import LabelSelector, Requirement
from .leaderelection import LeaderElection
from .meta import Condition, KubeObject, ObjectMeta, OwnerReference
from .policy import PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus
from .priority import PriorityClass
from .nodeselector import NodeSelector, NodeSelectorRequirement, NodeSelectorTerm
from .quantity import Quantity
from .replicationcontroller import ReplicationController, ReplicationControllerSpec, ReplicationControllerStatus
from .registry import UNSTRUCTURED, ObjectList, Registry, WatchEvent, WatchStream, retry_on_conflict
from .resources import ResourceRequirements
from .storagekeys import BUILTIN_KINDS, KindInfo
from .registrytypes import LAST_APPLIED
from .schema import Model
from .statefulset import (RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetOrdinals,
                          StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetStatus,
                          StatefulSetUpdateStrategy)
from .taints import Taint, Toleration
from .validation import validate

__all__ = [
    "Registry", "ObjectList", "WatchEvent", "WatchStream", "UNSTRUCTURED", "retry_on_conflict", "Expired",
    "AlreadyExists", "Conflict", "FieldError", "Invalid", "NotFound", "ObjectsError", "ValidationError",
    "ServerTimeout", "Unavailable", "BadRequest", "UnknownResourceType", "KindInfo", "BUILTIN_KINDS", "LAST_APPLIED",
    "Quantity", "LabelSelector", "Requirement", "Taint", "Toleration",
    "NodeSelector", "NodeSelectorTerm", "NodeSelectorRequirement", "FieldSelector",
    "Model", "KubeObject", "ObjectMeta", "OwnerReference", "Condition", "GenericObject",
    "Pod", "PodSpec", "PodStatus", "Container", "ContainerPort", "ResourceRequirements", "PodSchedulingGate",
    "Affinity", "NodeAffinity", "PreferredSchedulingTerm", "PodAffinity", "PodAntiAffinity",
    "PodAffinityTerm", "WeightedPodAffinityTerm", "TopologySpreadConstraint",
    "Node", "NodeSpec", "NodeStatus", "NodeAddress", "ContainerImage",
    "Namespace", "NamespaceSpec", "NamespaceStatus", "Service", "ServiceSpec", "ServicePort",
    "Endpoints", "EndpointSubset", "EndpointAddress", "EndpointPort", "ConfigMap",
    "PodTemplateSpec", "ReplicaSet", "ReplicaSetSpec", "ReplicaSetStatus",
    "Deployment", "DeploymentSpec", "DeploymentStatus", "DeploymentStrategy", "RollingUpdateDeployment",
    "DaemonSet", "DaemonSetSpec", "DaemonSetStatus", "DaemonSetUpdateStrategy", "RollingUpdateDaemonSet",
    "StatefulSet", "StatefulSetSpec", "StatefulSetStatus", "StatefulSetUpdateStrategy",
    "RollingUpdateStatefulSetStrategy", "StatefulSetPersistentVolumeClaimRetentionPolicy", "StatefulSetOrdinals",
    "ReplicationController", "ReplicationControllerSpec", "ReplicationControllerStatus",
    "PodDisruptionBudget", "PodDisruptionBudgetSpec", "PodDisruptionBudgetStatus", "PriorityClass",
    "Lease", "LeaseSpec", "LeaderElection",
    "Job", "JobSpec", "JobStatus", "EndpointSlice", "Endpoint", "EndpointConditions",
    "EndpointSlicePort", "Event", "EventSource", "ObjectReference", "ControllerRevision",
    "from_dict", "to_dict", "load", "dumps_yaml", "to_msgpack", "from_msgpack", "register_kind", "kind_class",
    "KINDS", "apply_defaults", "DEFAULT_SCHEDULER_NAME", "validate",
]
