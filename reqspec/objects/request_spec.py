"""RequestSpec: what the user asked for when booting a server."""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
import datetime
from typing import Any
from typing import TYPE_CHECKING

from oslo_utils import versionutils

from reqspec import exception
from reqspec.db import base as db_base
from reqspec.db import request_specs as db
from reqspec.objects import base
from reqspec.objects import document
from reqspec.objects import fields
from reqspec.objects import project_scope
from reqspec.objects.flavor import Flavor
from reqspec.objects.image_meta import ImageMeta
from reqspec.objects.instance_group import InstanceGroup
from reqspec.objects.security_group import SecurityGroup

if TYPE_CHECKING:
    from reqspec.context import RequestContext
    from reqspec.objects.numa import InstanceNUMATopology
    from reqspec.objects.pci import InstancePCIRequests


@base.ReqspecObjectRegistry.register
class RequestSpec(base.ReqspecObject):
    """The scheduling request of one server, kept for its whole life.

    Fields fall into three disjoint groups, declared once below and read by
    everything that needs to know (the document codec, the loader and
    ``clear_per_move``):

    * ``ROW_FIELDS``: the identity of the stored row (``id``) and its
      optimistic-concurrency ``generation``; kept in columns, not in the
      document.
    * ``PERSISTENT_FIELDS``: the user's lasting constraints. The stored
      document is made of exactly these.
    * ``PER_MOVE_FIELDS``: computed for one scheduling request (retries,
      hosts to avoid, an admin's target host, resources derived from
      ports...). The codec never looks at them, so they cannot reach
      storage whatever their value.

    Persistence (``create``, ``save``, ``destroy``, ``get_by_*``) goes to
    the database the context selects: the API database for an untargeted
    context, the cell's database for one made by ``target_cell``.
    """

    # Version 1.0: Initial version
    # Version 1.1: Added security_groups and is_bfv
    # Version 1.2: Added requested_resources, request_level_params,
    #              requested_networks and network_metadata; Destination 1.1
    # Version 1.3: InstanceNUMATopology 1.1 (InstanceNUMACell.pagesize_policy)
    VERSION = "1.3"

    fields = {
        "id": fields.IntegerField(nullable=True),
        "generation": fields.NonNegativeIntegerField(nullable=True),
        "instance_uuid": fields.UUIDField(),
        "project_id": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "flavor": fields.ObjectField("Flavor"),
        "image": fields.ObjectField("ImageMeta", nullable=True),
        "numa_topology": fields.ObjectField(
            "InstanceNUMATopology", nullable=True
        ),
        "pci_requests": fields.ObjectField(
            "InstancePCIRequests", nullable=True
        ),
        "num_instances": fields.NonNegativeIntegerField(default=1),
        "force_hosts": fields.ListOfStringsField(nullable=True),
        "force_nodes": fields.ListOfStringsField(nullable=True),
        "limits": fields.ObjectField("SchedulerLimits", nullable=True),
        "instance_group": fields.ObjectField("InstanceGroup", nullable=True),
        "scheduler_hints": fields.DictOfListOfStringsField(default={}),
        "security_groups": fields.ListOfObjectsField(
            "SecurityGroup", default=[]
        ),
        "is_bfv": fields.BooleanField(default=False),
        # Per-move fields.
        "ignore_hosts": fields.ListOfStringsField(nullable=True),
        "requested_destination": fields.ObjectField(
            "Destination", nullable=True
        ),
        "retry": fields.ObjectField("SchedulerRetries", nullable=True),
        "requested_resources": fields.ListOfObjectsField(
            "RequestGroup", default=[]
        ),
        "request_level_params": fields.ObjectField(
            "RequestLevelParams", nullable=True
        ),
        "requested_networks": fields.ListOfObjectsField(
            "NetworkRequest", default=[]
        ),
        "network_metadata": fields.ObjectField(
            "NetworkMetadata", nullable=True
        ),
    }

    ROW_FIELDS = ("id", "generation")
    PERSISTENT_FIELDS = (
        "instance_uuid",
        "project_id",
        "user_id",
        "availability_zone",
        "flavor",
        "image",
        "numa_topology",
        "pci_requests",
        "num_instances",
        "force_hosts",
        "force_nodes",
        "limits",
        "instance_group",
        "scheduler_hints",
        "security_groups",
        "is_bfv",
    )
    PER_MOVE_FIELDS = (
        "ignore_hosts",
        "requested_destination",
        "retry",
        "requested_resources",
        "request_level_params",
        "requested_networks",
        "network_metadata",
    )

    # Only uuid, policy and rules of a server group are stored: members and
    # hosts go stale and are looked up fresh by whoever schedules.
    STORED_SUBSETS = {"instance_group": ("uuid", "policy", "rules")}

    obj_relationships = {
        "flavor": [("1.0", "1.0")],
        "image": [("1.0", "1.0")],
        "numa_topology": [("1.0", "1.0"), ("1.3", "1.1")],
        "pci_requests": [("1.0", "1.0")],
        "limits": [("1.0", "1.0")],
        "instance_group": [("1.0", "1.0")],
        "requested_destination": [("1.0", "1.0"), ("1.2", "1.1")],
        "retry": [("1.0", "1.0")],
        "security_groups": [("1.1", "1.0")],
        "requested_resources": [("1.2", "1.0")],
        "request_level_params": [("1.2", "1.0")],
        "requested_networks": [("1.2", "1.0")],
        "network_metadata": [("1.2", "1.0")],
    }

    def obj_make_compatible(
        self, primitive: dict[str, Any], target_version: str
    ) -> None:
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 2):
            base.remove_fields(
                primitive,
                "requested_resources",
                "request_level_params",
                "requested_networks",
                "network_metadata",
            )
        if target < (1, 1):
            base.remove_fields(primitive, "security_groups", "is_bfv")

    # -- convenience -------------------------------------------------------

    @property
    def vcpus(self) -> int:
        return self.flavor.vcpus

    @property
    def memory_mb(self) -> int:
        return self.flavor.memory_mb

    @property
    def root_gb(self) -> int:
        return self.flavor.root_gb

    @property
    def ephemeral_gb(self) -> int:
        return self.flavor.ephemeral_gb

    @property
    def swap(self) -> int:
        return self.flavor.swap

    @property
    def disk_gb(self) -> int:
        """Local disk the server needs: root (unless boot-from-volume),
        ephemeral and swap (swap is in MiB, rounded up to GiB)."""
        root = 0 if self.is_bfv else self.root_gb
        return root + self.ephemeral_gb + -(-self.swap // 1024)

    @property
    def instance_group_uuid(self) -> str | None:
        """The server group's uuid, or None (stored in its own indexed
        column too)."""
        if not self.obj_attr_is_set("instance_group"):
            return None
        group = self.instance_group
        return None if group is None else str(group.uuid)

    def get_scheduler_hint(self, name: str, default: Any = None) -> Any:
        """A hint's value: a single-item list is returned as the item."""
        values = self.scheduler_hints.get(name)
        if not values:
            return default
        return values[0] if len(values) == 1 else values

    def clear_per_move(self) -> None:
        """Forget every per-move field, so the next move starts clean."""
        for name in self.PER_MOVE_FIELDS:
            if self.obj_attr_is_set(name):
                delattr(self, name)
        self._changed_fields.difference_update(self.PER_MOVE_FIELDS)

    def reset_forced_destinations(self) -> None:
        """Drop forced hosts/nodes for moves that must be free to leave.

        As in Nova: ``az:host`` at boot pins the first placement; a migrate
        or an evacuate has to be able to go elsewhere (an admin who wants a
        particular host says so with a requested destination instead).
        """
        self.force_hosts = None
        self.force_nodes = None

    @classmethod
    def from_components(
        cls,
        context: "RequestContext | None" = None,
        *,
        instance_uuid: str,
        flavor: Flavor,
        image: ImageMeta | dict[str, Any] | None = None,
        project_id: str | None = None,
        user_id: str | None = None,
        availability_zone: str | None = None,
        num_instances: int = 1,
        scheduler_hints: dict[str, Any] | None = None,
        instance_group: InstanceGroup | None = None,
        security_groups: Iterable[str] | None = None,
        force_hosts: Iterable[str] | None = None,
        force_nodes: Iterable[str] | None = None,
        numa_topology: "InstanceNUMATopology | None" = None,
        pci_requests: "InstancePCIRequests | None" = None,
        is_bfv: bool = False,
    ) -> "RequestSpec":
        """Build a spec from what the compute API has at boot time.

        ``image`` may be a Glance image dict; its string properties are
        typed here. Hint values may be strings or lists of strings, as the
        API accepts both. ``project_id``/``user_id`` default to the
        context's. Bad input raises ``InvalidRequestSpec``.
        """
        if context is not None:
            project_id = project_id or context.project_id
            user_id = user_id or context.user_id
        if isinstance(image, dict):
            image = ImageMeta.from_dict(image)
        spec = cls(context)
        try:
            spec.instance_uuid = instance_uuid
            spec.flavor = flavor
            spec.image = image
            spec.project_id = project_id
            spec.user_id = user_id
            spec.availability_zone = availability_zone
            spec.num_instances = num_instances
            spec.scheduler_hints = _normalize_hints(scheduler_hints or {})
            spec.instance_group = instance_group
            spec.security_groups = [
                SecurityGroup(name=name) for name in security_groups or ()
            ]
            spec.force_hosts = list(force_hosts) if force_hosts else None
            spec.force_nodes = list(force_nodes) if force_nodes else None
            spec.numa_topology = numa_topology
            spec.pci_requests = pci_requests
            spec.is_bfv = is_bfv
            spec.limits = None
        except ValueError as err:
            raise exception.InvalidRequestSpec(reason=str(err)) from err
        return spec

    # -- persistence -------------------------------------------------------

    def to_document(self) -> str:
        """The canonical stored document (compact, deterministic JSON)."""
        return document.encode(self)

    def stored_document(self) -> str:
        """The document exactly as last read from (or written to)
        storage, which a move copies as it is; the current encoding for a
        spec never stored."""
        stored: str | None = getattr(self, "_stored_document", None)
        return self.to_document() if stored is None else stored

    @classmethod
    def from_document(
        cls, context: "RequestContext | None", text: str | bytes
    ) -> "RequestSpec":
        """Load a spec from a stored document; ``InvalidRequestSpec`` if
        the document is malformed, of an unknown version or too large."""
        spec = document.decode(text)
        spec._context = context
        return spec

    @classmethod
    def from_db_row(
        cls, context: "RequestContext", row: db.SpecRow
    ) -> "RequestSpec":
        """The spec a stored row holds, checked against the row's columns;
        ``InvalidRequestSpec`` naming the row if it is damaged."""
        where = f"stored spec of instance {row.instance_uuid}"
        try:
            spec = document.decode(row.spec)
        except exception.InvalidRequestSpec as err:
            # Name the row: in a get-many, "spec.flavor: ..." alone does not
            # say which of a thousand documents is broken.
            reason = err.kwargs["reason"]
            if isinstance(row.spec, bytes):
                # Text SQLite could not decode (see reqspec.db.base).
                reason = (
                    f"the stored text is not valid UTF-8 ({_utf8(row.spec)})"
                )
            raise exception.InvalidRequestSpec(
                reason=f"{where} in {context.database}: {reason}"
            ) from None
        # The columns are what lookups and project isolation filter on; a
        # document that disagrees with them was edited by hand.
        if spec.instance_uuid != row.instance_uuid:
            raise exception.InvalidRequestSpec(
                reason=f"the row of instance {row.instance_uuid} holds the "
                f"document of instance {spec.instance_uuid}"
            )
        if spec.project_id != row.project_id:
            raise exception.InvalidRequestSpec(
                reason=f"{where} in {context.database}: the document's "
                "project_id does not match the row's"
            )
        spec._context = context
        # The decoder fills storage attributes directly, so a loaded spec
        # has no changes to reset.
        spec.mark_stored(
            row.id,
            row.generation,
            row.spec,
            reset=False,
            columns=(row.project_id, row.instance_group_uuid),
        )
        return spec

    def mark_stored(
        self,
        row_id: int,
        generation: int,
        stored: str,
        reset: bool = True,
        columns: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Record the stored row this object now matches: its identity,
        generation and document, and (if known) its (project_id,
        instance_group_uuid) columns, which a save leaves alone when they
        do not change."""
        # Row identity is not a change to save: write the storage attributes
        # directly instead of going through the tracked setters.
        self.__dict__["_obj_id"] = row_id
        self.__dict__["_obj_generation"] = generation
        self._stored_document = stored
        self._stored_columns = columns
        if reset:
            self.obj_reset_changes(recursive=True)

    @classmethod
    def get_by_instance_uuid(
        cls, context: "RequestContext", instance_uuid: str
    ) -> "RequestSpec":
        """The spec of one instance from the context's database.

        ``RequestSpecNotFound`` if there is none (or, for a non-admin
        context, if it belongs to another project).
        """
        uuid = _checked_uuid(instance_uuid)
        scope = project_scope.scope_of(context)
        row = db.get_by_instance_uuid(context, uuid, scope)
        if row is None or not project_scope.owns(scope, row.project_id):
            raise exception.RequestSpecNotFound(instance_uuid=uuid)
        return cls.from_db_row(context, row)

    @classmethod
    def get_by_instance_uuids(
        cls,
        context: "RequestContext",
        instance_uuids: Iterable[str],
        on_damaged: "OnDamaged | None" = None,
    ) -> list["RequestSpec"]:
        """The specs of the given instances that exist, in the order asked,
        read with one query. An empty list asks nothing of the database.

        A damaged stored spec raises ``InvalidRequestSpec`` naming its
        instance; with ``on_damaged``, that error is passed to it instead
        and the other specs are returned."""
        uuids = list(dict.fromkeys(_checked_uuid(u) for u in instance_uuids))
        if not uuids:
            return []
        scope = project_scope.scope_of(context)
        rows = db.get_by_instance_uuids(context, uuids, scope)
        by_uuid = {
            row.instance_uuid: row
            for row in rows
            if project_scope.owns(scope, row.project_id)
        }
        if on_damaged is None:
            return [
                cls.from_db_row(context, by_uuid[uuid])
                for uuid in uuids
                if uuid in by_uuid
            ]
        loaded = (
            cls._load_row(context, by_uuid[uuid], on_damaged)
            for uuid in uuids
            if uuid in by_uuid
        )
        return [spec for spec in loaded if spec is not None]

    @classmethod
    def get_stored_documents(
        cls, context: "RequestContext", instance_uuids: Iterable[str]
    ) -> dict[str, str]:
        """The stored documents of the given instances that exist, by
        uuid, as they are (not decoded: for copying them, or telling
        which are equal), read with one query."""
        uuids = list(dict.fromkeys(_checked_uuid(u) for u in instance_uuids))
        if not uuids:
            return {}
        rows = db.get_by_instance_uuids(
            context, uuids, project_scope.scope_of(context)
        )
        return {row.instance_uuid: row.spec for row in rows}

    @classmethod
    def iter_all(
        cls,
        context: "RequestContext",
        batch_size: int = db_base.READ_BATCH_SIZE,
        on_damaged: "OnDamaged | None" = None,
    ) -> Iterator["RequestSpec"]:
        """Every spec in the context's database (of the context's project
        unless it is an admin), fully loaded, in storage order.

        Rows are read ``batch_size`` at a time in short transactions, so
        memory stays flat however many there are. A damaged stored spec
        raises ``InvalidRequestSpec`` naming its instance, which ends the
        iteration; with ``on_damaged``, that error is passed to it instead
        and the iteration goes on with the next row.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        scope = project_scope.scope_of(context)
        for rows in db.iter_batches(context, batch_size, scope):
            for row in rows:
                if not project_scope.owns(scope, row.project_id):
                    continue
                if on_damaged is None:
                    yield cls.from_db_row(context, row)
                    continue
                spec = cls._load_row(context, row, on_damaged)
                if spec is not None:
                    yield spec

    @classmethod
    def _load_row(
        cls,
        context: "RequestContext",
        row: db.SpecRow,
        on_damaged: "OnDamaged",
    ) -> "RequestSpec | None":
        try:
            return cls.from_db_row(context, row)
        except exception.InvalidRequestSpec as err:
            on_damaged(row.instance_uuid, err)
            return None

    def create(
        self,
        *,
        created_at: datetime.datetime | None = None,
        updated_at: datetime.datetime | None = None,
    ) -> None:
        """Store a new spec in the context's database, at generation 1.

        The row's timestamps default to now; an import keeps the source's.
        """
        if self.obj_attr_is_set("id") and self.id is not None:
            raise exception.ObjectActionError(
                action="create", reason="the spec is already stored"
            )
        self.check_may_store()
        text = self.to_document()
        project_scope.check_project_column(self.project_id)
        row = db.create(
            self._context,
            self.instance_uuid,
            self.project_id,
            text,
            instance_group_uuid=self.instance_group_uuid,
            created_at=created_at,
            updated_at=updated_at,
        )
        self.mark_stored(
            row.id,
            row.generation,
            text,
            columns=(row.project_id, row.instance_group_uuid),
        )

    def create_copies(self, instance_uuids: Sequence[str]) -> None:
        """Store this spec once per server of ``instance_uuids`` (the
        servers of one multi-create request), in one statement, with every
        check ``create()`` makes; ``RequestSpecExists`` and nothing written
        if any of them already has a spec.

        The object ends up holding the last uuid, not stored as a row of
        its own (load a server's spec to save it later).
        """
        if self.obj_attr_is_set("id") and self.id is not None:
            raise exception.ObjectActionError(
                action="create", reason="the spec is already stored"
            )
        self.check_may_store()
        project_scope.check_project_column(self.project_id)
        rows = []
        for uuid in instance_uuids:
            try:
                self.instance_uuid = uuid
            except ValueError as err:
                raise exception.InvalidRequestSpec(reason=str(err)) from err
            rows.append(
                db.SpecRow(
                    0,
                    self.instance_uuid,
                    self.project_id,
                    1,
                    self.to_document(),
                    self.instance_group_uuid,
                )
            )
        db.create_many(self._context, rows)

    def save(self) -> None:
        """Write the persistent fields back, if they changed.

        The write only happens if the row is still at the generation this
        object was loaded (or last saved) at; otherwise
        ``RequestSpecConflict`` and nothing is written. Per-move fields are
        not part of the document, so changing only them writes nothing.
        """
        if not self.obj_attr_is_set("id") or self.id is None:
            raise exception.ObjectActionError(
                action="save", reason="the spec was never created"
            )
        # Scope first: a foreign spec must not save "successfully" even when
        # there is nothing to write.
        self.check_may_store()
        text = self.to_document()
        if text == getattr(self, "_stored_document", None):
            self.obj_reset_changes(recursive=True)
            return
        project_scope.check_project_column(self.project_id)
        if self.generation is None:
            raise exception.ObjectActionError(
                action="save", reason="the spec has no stored generation"
            )
        columns = (self.project_id, self.instance_group_uuid)
        generation = db.update(
            self._context,
            self.instance_uuid,
            self.generation,
            columns[0],
            text,
            match_project_id=project_scope.scope_of(self._context),
            instance_group_uuid=columns[1],
            stored_columns=getattr(self, "_stored_columns", None),
        )
        self.mark_stored(self.id, generation, text, columns=columns)

    def destroy(self) -> None:
        """Delete the spec from the context's database."""
        db.destroy(
            self._context,
            self.instance_uuid,
            project_scope.scope_of(self._context),
        )
        self.forget_row()

    def forget_row(self) -> None:
        """Back to a spec that was never stored (after a destroy, or when
        the transaction that created it was rolled back)."""
        self.__dict__.pop("_obj_id", None)
        self.__dict__.pop("_obj_generation", None)
        self.__dict__.pop("_stored_document", None)
        self.__dict__.pop("_stored_columns", None)

    def check_may_store(self) -> None:
        """``Forbidden`` unless this spec's context may store
        specs of its project (what every write checks first)."""
        project_scope.check_may_store(self._context, self.project_id)


#: Told about each damaged stored spec: (instance uuid, the error).
OnDamaged = Callable[[str, exception.InvalidRequestSpec], object]


def _utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"byte 0x{data[err.start]:02x} at offset {err.start}"
    return "valid after all"  # pragma: no cover


def _checked_uuid(value: Any) -> str:
    try:
        return fields.check_uuid(value)
    except ValueError as err:
        raise exception.InvalidRequestSpec(
            reason=f"instance uuid: {err}"
        ) from None


def _normalize_hints(hints: dict[str, Any]) -> dict[str, list[str]]:
    """The API takes ``{"group": "uuid"}`` and ``{"query": ["a", "b"]}``;
    store every hint as a list of strings."""
    normalized = {}
    for key, value in hints.items():
        if isinstance(value, str):
            normalized[key] = [value]
        elif isinstance(value, (list, tuple)) and all(
            isinstance(v, str) for v in value
        ):
            normalized[key] = list(value)
        else:
            raise exception.InvalidRequestSpec(
                reason=f"scheduler hint {key!r} must be a string or a list "
                f"of strings, not {type(value).__name__}"
            )
    return normalized
