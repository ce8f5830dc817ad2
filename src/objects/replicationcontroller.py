"""v1 ReplicationController: the core-group ancestor of ReplicaSet, whose selector is a plain label map."""
from __future__ import annotations

from .apps import PodTemplateSpec, ReplicaSetStatus, spec_fields, validate_template
from .errors import FieldError
from .fieldtypes import Errors, StrMap, join
from .meta import KubeObject, attach_kind, spec_and_status
from .schema import Field, Model, model
from .validation import label_value, qualified_name

__all__ = ["ReplicationControllerSpec", "ReplicationControllerStatus", "ReplicationController"]


@model
class ReplicationControllerSpec(Model):
    """``spec`` of a ReplicationController: ``selector`` is a map of labels the pods must all carry."""

    FIELDS = spec_fields("replicas", "min_ready_seconds") + (
        Field("selector", StrMap(qualified_name, label_value)),
    ) + spec_fields("template")
    replicas: int | None
    min_ready_seconds: int | None
    selector: dict[str, str]
    template: PodTemplateSpec | None

    def validate(self, path: str, errs: Errors) -> None:
        # Defaulting gives an unset selector the template's labels, so only one still empty after that fails.
        labels = self.template.metadata.labels if self.template is not None else {}
        if not self.selector and not labels:
            errs.append(FieldError(join(path, "selector"), "", None, "Required value"))
        elif self.template is not None and any(labels.get(k) != v for k, v in self.selector.items()):
            errs.append(FieldError(join(path, "template.metadata.labels"),
                                   "`selector` does not match template `labels`", str(labels)))
        validate_template(self.template, path, errs)


class ReplicationControllerStatus(ReplicaSetStatus):
    """``status`` of a ReplicationController: the same counters as a ReplicaSet's."""

    __slots__ = ()


@model
class ReplicationController(KubeObject):
    """A ReplicationController (v1)."""

    FIELDS = spec_and_status(ReplicationControllerSpec, ReplicationControllerStatus)
    spec: ReplicationControllerSpec
    status: ReplicationControllerStatus


attach_kind(ReplicationController, "v1", "ReplicationController", "replicationcontrollers")
