"""Every scikit-learn estimator as a block keyed by its public import path.

An estimator block composes instead of computing: it takes the steps before it
(port ``estimator``, optional) and returns them with one unfitted estimator
appended. ``model.train`` turns the steps into one fitted ``Pipeline``.

Discovering the estimators imports every scikit-learn module (about 1.5 s), too
slow for every web process and worker, so the generated specs (plain JSON) are
cached on disk, keyed by the scikit-learn version and a fingerprint of the
generator's source; a process with a warm cache never imports scikit-learn to
build the catalogue. Estimator classes are imported when a block runs.

Cache directory: ``$MLOPS_BLOCKS_CACHE_DIR``, else ``$XDG_CACHE_HOME/mlops-studio``
(``~/.cache/mlops-studio``); ``MLOPS_BLOCKS_CACHE_DIR=off`` disables it. A cache
that cannot be read or written is ignored.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import schema as sch
from .base import ESTIMATOR, Block, BlockError, Port, StepContext
from .curated import CURATED

# Never settable from a graph: n_jobs/verbose/copy/warm_start do not change results;
# `memory` (a joblib cache folder the estimator would unpickle from) and `input`
# ("file"/"filename" make vectorizers open server paths) would let a graph touch
# the worker's file system.
FIXED_PARAMS = frozenset({"n_jobs", "verbose", "copy", "warm_start", "memory", "input"})

# Estimators that cannot be a step of a Pipeline over a table: they transform
# the target ``y``, not the features ``X``.
EXCLUDED = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"})

_SOURCES = ("schema.py", "sklearn_blocks.py", "curated.py")
_SPEC_KEYS = frozenset(
    {"key", "class_name", "label", "category", "description", "curated", "tags"}
    | {"params_schema", "step_name"}
)

Spec = dict[str, Any]


# -- discovery (slow: imports all of scikit-learn) ------------------------------------


def public_path(cls: type) -> str | None:
    """``sklearn.ensemble._forest.RandomForestClassifier`` -> ``sklearn.ensemble.RandomForestClassifier``.

    The shortest public module (no ``_private`` part) that exports the class,
    or ``None`` if none does.
    """
    parts = cls.__module__.split(".")
    public: list[str] = []
    for part in parts:
        if part.startswith("_"):
            break
        public.append(part)
    for end in range(2, len(public) + 1):
        module_name = ".".join(public[:end])
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if getattr(module, cls.__name__, None) is cls:
            return f"{module_name}.{cls.__name__}"
    return None


def params_schema(cls: type, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The block parameter schema of an estimator class (see ``schema``)."""
    constraints = getattr(cls, "_parameter_constraints", {}) or {}
    descriptions = sch.param_descriptions(cls.__doc__)
    overrides = dict(defaults or {})
    properties: dict[str, Any] = {}
    unsupported: list[str] = []
    for name, param in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name in FIXED_PARAMS:
            continue
        default = param.default
        if name == "random_state" and default is None:
            default = 0  # equal inputs give equal outputs, so caching is sound
        prop = sch.param_schema(constraints.get(name), default)
        if prop is None:
            unsupported.append(name)
            continue
        if name in overrides:
            value = overrides.pop(name)
            if not sch.matches(prop, value):
                raise ValueError(f"curated default {name}={value!r} is outside {prop}")
            prop["default"] = value
        prop["title"] = sch.humanise(name)
        if name in descriptions:
            prop["description"] = descriptions[name]
        properties[name] = prop
    if overrides:
        raise ValueError(f"curated defaults for unknown params: {sorted(overrides)}")
    out: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": [],
        "additionalProperties": False,
    }
    if unsupported:
        out["x-unsupported"] = unsupported
    return out


def _category_and_tags(cls: type, instance: Any) -> tuple[str, list[str]]:
    from sklearn.base import is_classifier, is_clusterer, is_outlier_detector, is_regressor

    transformer = _is_transformer(instance)
    tags = [
        tag
        for tag, yes in (
            ("classifier", is_classifier(instance)),
            ("regressor", is_regressor(instance)),
            ("clusterer", is_clusterer(instance)),
            ("outlier_detector", is_outlier_detector(instance)),
            ("transformer", transformer),
        )
        if yes
    ]
    if is_classifier(instance):
        category = "Classification"
    elif is_regressor(instance):
        category = "Regression"
    elif is_clusterer(instance):
        category = "Clustering"
    elif transformer and cls.__module__.split(".")[1] in (
        "decomposition",
        "manifold",
        "random_projection",
    ):
        category = "Dimensionality reduction"
    elif transformer:
        category = "Preprocessing"
    else:
        category = "Other estimators"
    return category, tags


def estimator_spec(cls: type) -> Spec | None:
    """The JSON-able description of one estimator block, or ``None`` to skip it.

    Skipped: meta-estimators with a required argument (an estimator, a list
    of steps …), classes that fail to construct with defaults or are
    deprecated, target-only transformers, and classes with no public path.
    """
    if cls.__name__ in EXCLUDED:
        return None
    sig = inspect.signature(cls.__init__)
    for param in list(sig.parameters.values())[1:]:
        if param.default is param.empty and param.kind not in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            instance = cls()
            category, tags = _category_and_tags(cls, instance)
        except Exception:  # e.g. a meta-estimator whose estimator defaults to None
            return None
    if any(issubclass(w.category, FutureWarning) for w in caught):
        return None  # deprecated class: scheduled for removal
    key = public_path(cls)
    if key is None:
        return None
    curated = CURATED.get(key)
    return {
        "key": key,
        "class_name": cls.__name__,
        "module": key.rsplit(".", 1)[0],
        "label": curated.label if curated else " ".join(sch.class_words(cls.__name__)),
        "category": curated.category if curated else category,
        "description": sch.summary_line(cls.__doc__),
        "curated": curated is not None,
        "tags": tags,
        "params_schema": params_schema(cls, curated.defaults if curated else None),
        "step_name": sch.snake_case(cls.__name__),
    }


def discover_specs() -> list[Spec]:
    """Specs for every usable scikit-learn estimator (imports all of scikit-learn)."""
    from sklearn.utils import all_estimators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = all_estimators()
    specs = [spec for _, cls in found if (spec := estimator_spec(cls)) is not None]
    missing = set(CURATED) - {s["key"] for s in specs}
    if missing:
        raise RuntimeError(f"curated estimators not found in scikit-learn: {sorted(missing)}")
    return specs


# -- the disk cache -------------------------------------------------------------------


@functools.cache
def sklearn_version() -> str:
    return importlib.metadata.version("scikit-learn")


def _cache_file() -> Path | None:
    configured = os.environ.get("MLOPS_BLOCKS_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        directory = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        directory = Path(xdg) / "mlops-studio"
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    return directory / f"sklearn-blocks-{sklearn_version()}-{digest.hexdigest()[:16]}.json"


def load_specs() -> list[Spec]:
    """Specs from the disk cache, discovered (and cached) if missing or stale."""
    path = _cache_file()
    if path is not None:
        try:
            cached = json.loads(path.read_text())
            if isinstance(cached, list) and all(_SPEC_KEYS <= set(s) for s in cached):
                return cached
        except (OSError, ValueError, TypeError):
            pass
    specs = discover_specs()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Atomic: processes starting together never read a half-written file.
            with tempfile.NamedTemporaryFile(
                "w", dir=path.parent, suffix=".tmp", delete=False
            ) as tmp:
                json.dump(specs, tmp)
            os.chmod(tmp.name, 0o644)  # other users' processes may share the cache
            os.replace(tmp.name, path)
        except OSError:
            pass
    return specs


# -- blocks ---------------------------------------------------------------------------


@functools.cache
def estimator_class(key: str) -> type:
    """The class behind block ``key`` (imported on first use)."""
    module_name, _, class_name = key.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def _is_transformer(estimator: Any) -> bool:
    return hasattr(estimator, "transform") or hasattr(estimator, "fit_transform")


def build_estimator(spec: Spec, params: Mapping[str, Any]) -> Any:
    """An unfitted estimator from validated block params (defaults filled in).

    Raises ``BlockError`` for a parameter the schema does not have or a value
    scikit-learn refuses, so the failing node is the estimator's, not
    ``model.train``'s.
    """
    from sklearn.utils._param_validation import InvalidParameterError

    schema = spec["params_schema"]
    properties = schema["properties"]
    unknown = sorted(set(params) - set(properties))
    if unknown:
        raise BlockError(
            f"{spec['class_name']} has no parameter {unknown[0]!r} that can be set here",
            param=unknown[0],
        )
    cls = estimator_class(spec["key"])
    constraints = getattr(cls, "_parameter_constraints", {}) or {}
    values = {name: prop["default"] for name, prop in properties.items() if "default" in prop}
    values.update(params)
    values = {k: sch.coerce_for_sklearn(constraints.get(k), v) for k, v in values.items()}
    estimator = cls(**values)
    # Check now, so a bad value fails at this node rather than at model.train.
    validate = getattr(estimator, "_validate_params", None)
    if constraints and validate is not None:
        try:
            validate()
        except InvalidParameterError as exc:
            param = next((name for name in values if f"'{name}'" in str(exc)), None)
            raise BlockError(str(exc), param=param) from None
    return estimator


def unique_step_name(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _run(
    ctx: StepContext, inputs: Mapping[str, Any], params: Mapping[str, Any], *, spec: Spec
) -> dict[str, Any]:
    steps = list(inputs.get("estimator") or [])
    if steps:
        last = steps[-1][1]
        if not _is_transformer(last):
            name = type(last).__name__
            raise BlockError(
                f"{name} is a model, not a preprocessing step; a pipeline can only "
                f"continue after a preprocessing step, so {spec['class_name']} cannot "
                f"follow {name}. Connect {spec['class_name']} before {name}, or train "
                f"{name} with model.train."
            )
    estimator = build_estimator(spec, params)
    name = unique_step_name(spec["step_name"], {n for n, _ in steps})
    return {ESTIMATOR: [*steps, (name, estimator)]}


def make_block(spec: Spec, version: str) -> Block:
    return Block(
        key=spec["key"],
        label=spec["label"],
        category=spec["category"],
        description=spec["description"],
        inputs=(Port(ESTIMATOR, ESTIMATOR, required=False, description="the steps before it"),),
        outputs=(
            Port(ESTIMATOR, ESTIMATOR, description="the steps before it, then this estimator"),
        ),
        params_schema=spec["params_schema"],
        run=functools.partial(_run, spec=spec),
        version=version,
        curated=spec["curated"],
        tags=("sklearn", *spec["tags"]),
    )


def estimator_blocks() -> list[Block]:
    """One block per usable scikit-learn estimator; ``version`` is sklearn's version."""
    version = sklearn_version()
    return [make_block(spec, version) for spec in load_specs()]
