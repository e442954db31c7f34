"""Running the Great Expectations suites kept as JSON in ``expectations/``.

A suite file is ``{"name", "meta": {"why"}, "expectations": [{"type", "kwargs", "meta"}]}``, and
every expectation's ``meta.why`` says why it exists.
Values that depend on the run (the month's bounds, the quarantine limit) are written in the suite
as ``{"$PARAMETER": "name"}`` and supplied here. Data Docs are built into the folder the caller
names, so an engineer can open them beside the run's outputs, failed or not.
"""

from __future__ import annotations

import functools
import gc
import json
import keyword
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from transforms.plumbing.errors import PermanentFailure


class ValidationFailed(PermanentFailure, RuntimeError):
    """A suite failed: the message names each failed expectation and why it exists."""

    def __init__(self, report: ValidationReport):
        self.report = report
        lines = [*report.explanation, f"Great Expectations suite {report.suite!r} failed:"]
        lines += [f"  - {f}" for f in report.failures]
        if report.data_docs:
            lines.append(f"Data Docs: {report.data_docs}")
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type[ValidationFailed], tuple[ValidationReport]]:
        return (ValidationFailed, (self.report,))  # raised in a helper process, read in the task


@dataclass
class ValidationReport:
    suite: str
    success: bool
    evaluated: int
    failures: list[str] = field(default_factory=list)
    data_docs: str | None = None
    # plain sentences a failure begins with: the figures, the likely cause and the fix
    explanation: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "success": self.success,
            "evaluated_expectations": self.evaluated,
            "failures": self.failures,
        }


def load_suite(expectations_dir: Path, name: str) -> dict[str, Any]:
    path = expectations_dir / f"{name}.json"
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("name") != name:
        raise ValueError(f"{path}: suite name {spec.get('name')!r} does not match the file name")
    return spec


def validate(
    frame: pd.DataFrame,
    suite_name: str,
    expectations_dir: Path,
    docs_dir: Path | None = None,
    parameters: dict[str, Any] | None = None,
    as_of: datetime | None = None,
    batch: str | None = None,
    build_docs: bool = True,
) -> ValidationReport:
    """Validate ``frame`` against a suite; build Data Docs into ``docs_dir`` if given.

    ``as_of``: the run time the Data Docs show and file the result under, instead of the wall
    clock, so a release's validation pages are the same for the same data. ``batch`` names the
    part of a table ``frame`` is (see :func:`validate_batches`). ``build_docs``: False files the
    result in ``docs_dir`` for :func:`build_data_docs` to render later.
    """
    import_great_expectations()
    checkpoint = _checkpoint(suite_name, expectations_dir, docs_dir, build_docs)
    return _run(checkpoint, frame, suite_name, docs_dir, parameters, as_of, batch)


def _run(
    checkpoint: Any,
    frame: pd.DataFrame,
    suite_name: str,
    docs_dir: Path | None,
    parameters: dict[str, Any] | None,
    as_of: datetime | None,
    batch: str | None,
) -> ValidationReport:
    """One run of the checkpoint's suite on ``frame`` (see :func:`validate`)."""
    if docs_dir is None:
        # nothing to file: the batch is validated alone, without the checkpoint's checks that
        # its stored configuration is current and its result stored (a fifth of a month's run)
        definition = checkpoint.validation_definitions[0]
        batch_data = definition.data.get_batch(batch_parameters={"dataframe": frame})
        # the verdict first: without the failing values' counts and samples GX builds and
        # resolves fewer metrics (a month's canonical check a quarter faster). Only a suite
        # that fails runs again to report them, so the report is the same either way
        for result_format in (VERDICT_FORMAT, RESULT_FORMAT):
            outcome = batch_data.validate(
                definition.suite,
                result_format=result_format,
                expectation_parameters=parameters or {},
            )
            if outcome.success:
                break
        success, outcomes = bool(outcome.success), list(outcome.results)
    else:
        from great_expectations.core.run_identifier import RunIdentifier

        run_name = suite_name if batch is None else f"{suite_name} {batch}"
        result = checkpoint.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters or {},
            run_id=RunIdentifier(run_name=run_name, run_time=as_of) if as_of else None,
        )
        success = bool(result.success)
        outcomes = [o for run in result.run_results.values() for o in run.results]
    _forget_metrics(checkpoint)
    failures, evaluated = [], 0
    for outcome in outcomes:
        evaluated += 1
        if outcome.success:
            continue
        config = outcome.expectation_config
        assert config is not None
        why = (config.meta or {}).get("why", "")
        column = config.kwargs.get("column", "")
        unexpected = (outcome.result or {}).get("unexpected_count")
        observed = (outcome.result or {}).get("observed_value")
        error = (outcome.exception_info or {}).get("exception_message")
        detail = (
            f"{unexpected} unexpected values"
            if unexpected is not None
            else f"observed {observed!r}"
            if observed is not None
            else f"error {error}"
            if error
            else ""
        )
        failure = f"{config.type}({column}) {detail}: {why}".replace("() ", " ")
        failures.append(failure if batch is None else f"{batch}: {failure}")
    docs = _data_docs_index(docs_dir) if docs_dir else None
    return ValidationReport(suite_name, success, evaluated, failures, docs)


def _forget_metrics(checkpoint: Any) -> None:
    """Empty the metric cache of the checkpoint's pandas engine. GX keeps every metric it
    computed, row masks of whole frames among them, for as long as the datasource lives, keyed
    by batch, so no later run uses them: a decade of counts validated year by year would keep
    every year's columns alive."""
    for definition in checkpoint.validation_definitions:
        engine = definition.data.data_asset.datasource.execution_engine
        cache = getattr(engine, "_metric_cache", None)
        if isinstance(cache, dict):
            cache.clear()


def _data_docs_index(docs_dir: Path) -> str | None:
    index = docs_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return str(index) if index.exists() else None


def build_data_docs(docs_dir: Path) -> str | None:
    """Render every result filed in ``docs_dir`` into its Data Docs; the index page's path."""
    import_great_expectations()
    import great_expectations as gx

    gx.get_context(mode="file", project_root_dir=str(docs_dir)).build_data_docs()
    return _data_docs_index(docs_dir)


def validate_batches(
    batches: Iterable[tuple[str, pd.DataFrame]],
    suite_name: str,
    expectations_dir: Path,
    docs_dir: Path | None = None,
    parameters: dict[str, Any] | None = None,
    as_of: datetime | None = None,
) -> ValidationReport:
    """One verdict on a table too large for memory, validated part by part (``(name, frame)``).

    Only for suites whose every expectation holds on the whole table exactly when it holds on
    each part: row-wise ones, and uniqueness of a key the parts do not share. The parts' Data
    Docs are rendered once, after the last part (per part, each rendering rebuilt the index).
    """
    import_great_expectations()
    # one checkpoint for every part: a file context reads its configuration anew each time
    checkpoint = _checkpoint(suite_name, expectations_dir, docs_dir, build_docs=False)
    reports = []
    for name, frame in batches:
        reports.append(_run(checkpoint, frame, suite_name, docs_dir, parameters, as_of, name))
        del frame
        # a run leaves reference cycles that hold its frames (the batch's and the engine's
        # copies) until the cyclic collector's rare full pass. Per batch of several runs, not
        # after each: a full pass costs about as much as a month's validation
        gc.collect()
    return ValidationReport(
        suite_name,
        all(r.success for r in reports),
        sum(r.evaluated for r in reports),
        [f for r in reports for f in r.failures],
        build_data_docs(docs_dir) if docs_dir and reports else None,
    )


def validation_view(frame: pd.DataFrame, text: Iterable[str] | None = None) -> pd.DataFrame:
    """``frame`` as GX's pandas engine checks it fastest, with the same values.

    - Its ``text`` columns (all by default) become categories. The engine copies the frame for
      every row condition and every map metric; with repeated values (levels, periods, codes)
      as categories those copies move integers, not strings. Not for columns a suite matches
      against a regex with
      many distinct values: a category's regex runs in Python, an Arrow string's in RE2.
    - Nullable integer columns whose values are all exact as doubles (below 2**53) become
      float64, missing values NaN: the engine compares nullable integers one Python call per
      value, numpy dtypes in one vectorised pass.
    - Nullable float columns without a NaN value become float64 the same way: missing stays
      missing, and no value that was there becomes missing.
    - The frame answers the suites' row conditions itself (:class:`RowConditionFrame`).
    """
    if text is None:
        text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    exact = [
        c
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.Int64Dtype | pd.Int32Dtype | pd.Int16Dtype | pd.Int8Dtype)
        and not (frame[c].abs() >= EXACT_IN_DOUBLE).any()
    ]
    floats = [
        c
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.Float64Dtype | pd.Float32Dtype)
        and not np.isnan(frame[c].to_numpy(dtype="float64", na_value=0.0)).any()
    ]
    numeric = dict.fromkeys([*exact, *floats], "float64")
    return RowConditionFrame(frame.astype(dict.fromkeys(text, "category") | numeric))


EXACT_IN_DOUBLE = 2**53

# a row condition that compares one text column with one quoted value: ``status!="published"``
_COLUMN_IS_VALUE = re.compile(r"""^\s*([A-Za-z_]\w*)\s*(==|!=)\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*$""")


class RowConditionFrame(pd.DataFrame):
    """A frame whose ``query`` answers ``column == "value"`` and ``column != "value"`` on a
    text or category column directly, with the rows ``DataFrame.query`` gives.

    GX's pandas engine filters the whole batch with ``query`` for every metric of an
    expectation with a row condition, and ``query`` parses the condition, builds a Series of
    the index and compares through ``isin`` each time, a hundred times the comparison's own
    cost. ``query`` compares with ``isin`` (a missing
    value is never equal), and so does this; any other condition goes to ``DataFrame.query``.

    Each such condition's rows are selected once per frame: GX asks again for every metric of
    the expectation (a year's counts: ten copies of 3.4 M rows, for two conditions). GX reads
    the rows it is given, as it reads the batch itself, which every metric without a condition
    shares; the frame is a view made for validation (:func:`validation_view`), not changed.
    """

    @property
    def _constructor(self) -> type[RowConditionFrame]:
        return RowConditionFrame

    def query(self, expr: str, *, inplace: bool = False, **kwargs: Any) -> Any:
        match = _COLUMN_IS_VALUE.match(expr) if isinstance(expr, str) else None
        column = match.group(1) if match else None
        if (
            match is None
            or keyword.iskeyword(str(column))
            or inplace
            or set(kwargs) - {"parser"}
            or kwargs.get("parser", "pandas") != "pandas"
            or column not in self.columns
            or column in self.index.names
            or not self.columns.is_unique
            or not (
                isinstance(self[column].dtype, pd.CategoricalDtype)
                or pd.api.types.is_string_dtype(self[column].dtype)
            )
        ):
            return super().query(expr, inplace=inplace, **kwargs)  # type: ignore[call-overload]
        value = match.group(3) if match.group(3) is not None else match.group(4)
        # this instance's own (pandas passes on only declared attributes to derived frames)
        answered: dict[tuple[str, str, str], RowConditionFrame]
        answered = self.__dict__.setdefault("_answered_conditions", {})
        key = (str(column), match.group(2), value)
        if key not in answered:
            values = self[column]
            # categories compare on their codes; a missing value is equal to nothing either way
            equal = (
                values == value
                if isinstance(values.dtype, pd.CategoricalDtype)
                else values.isin([value])
            )
            rows = equal.to_numpy(dtype=bool)
            answered[key] = self.loc[rows if match.group(2) == "==" else ~rows]
        return answered[key]


@contextmanager
def great_expectations_imported_meanwhile() -> Iterator[None]:
    """Import GX in a thread while the block runs (GX's import, seconds of Python, beside the
    block's reading and preparing of the tables, much of it in Arrow without the GIL)."""
    importing = threading.Thread(target=import_great_expectations, name="import GX")
    importing.start()
    try:
        yield
    finally:
        importing.join()
    import_great_expectations()  # re-raises what the thread's import raised, if it failed


@functools.cache
def import_great_expectations() -> None:
    """Import GX with its analytics off, once per process. It takes seconds: a batch imports it
    while its helper prepares the first partition, instead of after."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under this size by hashing each of its values (an MD5
    # shown in Data Docs), a large part of a month's raw check. Every input here is a snapshot
    # named by its SHA-256, and every released file is listed with its own: not computed.
    pandas_execution_engine.HASH_THRESHOLD = 0
    _build_each_configuration_once_per_call()
    # what is alive now (GX, pandas, the process's modules) lives as long as the process: the
    # cyclic collector's full passes skip it from here on. GX's runs set off such passes often,
    # and each walked every object imported. Garbage is collected first: a frozen cycle would
    # never be
    gc.collect()
    gc.freeze()


# The methods of GX's ``Expectation`` that read its configuration once per keyword argument
PINNED_CONFIGURATION_READERS: Final = (
    "_get_runtime_kwargs",
    "_get_success_kwargs",
    "_get_domain_kwargs",
)


def _build_each_configuration_once_per_call() -> None:
    """Make GX build an expectation's configuration once per call of the methods that read its
    keyword arguments, instead of once per argument read.

    ``Expectation.configuration`` is a property that serialises the expectation (a pydantic
    ``dict()`` and a regular expression on its class name) each time it is read, and
    :data:`PINNED_CONFIGURATION_READERS` read it for every domain, success and runtime key:
    about 500 configurations per run of a suite on a month, a third of the run. Within one
    call of those methods the expectation does not change, so the configuration built at the
    call's start is the one every read would have built; the next call builds its own. The pins
    are per thread, and the methods' results are those of GX's own
    (``tests/test_expectations.py``).
    """
    from great_expectations.expectations.expectation import Expectation

    if getattr(Expectation, "_opencrime_pinned", False):
        return
    built: property = vars(Expectation)["configuration"]
    build = built.fget
    assert build is not None

    class Pins(threading.local):
        def __init__(self) -> None:
            self.by_id: dict[int, Any] = {}  # the configuration each call pinned, per thread

    pins = Pins()

    @functools.wraps(build)  # GX's own stays reachable as ``__wrapped__``, as the methods'
    def configuration(self: Any) -> Any:
        pinned = pins.by_id.get(id(self))
        return build(self) if pinned is None else pinned

    def pinning(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            pinned = pins.by_id
            if id(self) in pinned:  # an outer call pinned it
                return method(self, *args, **kwargs)
            pinned[id(self)] = build(self)
            try:
                return method(self, *args, **kwargs)
            finally:
                del pinned[id(self)]

        return call

    Expectation.configuration = property(configuration, doc=built.__doc__)  # type: ignore[method-assign,assignment]
    for name in PINNED_CONFIGURATION_READERS:
        setattr(Expectation, name, pinning(getattr(Expectation, name)))
    Expectation._opencrime_pinned = True  # type: ignore[attr-defined]


def _checkpoint(
    suite_name: str, expectations_dir: Path, docs_dir: Path | None, build_docs: bool = True
) -> Any:
    """The suite's checkpoint. Without Data Docs the context lives in memory and is kept for the
    process: a batch of partitions then pays GX's set-up once, not once per partition. With
    them, results are filed in ``docs_dir``, and rendered at once if ``build_docs``."""
    key = (suite_name, (expectations_dir / f"{suite_name}.json").read_text(encoding="utf-8"))
    if docs_dir is None and key in _IN_MEMORY:
        return _IN_MEMORY[key]
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    spec = load_suite(expectations_dir, suite_name)
    context: Any
    if docs_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(docs_dir))
    # no progress bar per run: a batch of months ran hundreds, each drawn on the task's log
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    suite = gx.ExpectationSuite(
        name=suite_name,
        expectations=[ExpectationConfiguration(**e) for e in spec["expectations"]],
        meta=spec.get("meta", {}),
    )
    suite = context.suites.add_or_update(suite)
    source = context.data_sources.add_or_update_pandas(f"{suite_name}_source")
    asset = source.add_dataframe_asset(f"{suite_name}_frame")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite_name}_validation", data=batch_definition, suite=suite)
    )
    build = docs_dir is not None and build_docs
    actions: list[Any] = [gx.checkpoint.UpdateDataDocsAction(name="data_docs")] if build else []
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{suite_name}_checkpoint",
            validation_definitions=[definition],
            actions=actions,
            result_format=RESULT_FORMAT,
        )
    )
    if docs_dir is None:
        _IN_MEMORY[key] = checkpoint
    return checkpoint


_IN_MEMORY: dict[tuple[str, str], Any] = {}

# What each expectation reports: its verdict, how many values failed and a sample of up to 20
# of them. "SUMMARY" would add counts of the failing values and their row positions in the
# frame validated (a year's slice of a table, meaningless to a reader); on a year of counts
# those metrics took a quarter of the validation time.
RESULT_FORMAT: Final = "BASIC"
VERDICT_FORMAT: Final = "BOOLEAN_ONLY"  # success or failure of each expectation, no more


def require(report: ValidationReport) -> ValidationReport:
    """Raise :class:`ValidationFailed` unless the suite passed."""
    if not report.success:
        raise ValidationFailed(report)
    return report


VALIDATION_RECORD = "validation.json"


def gate(checks: list[ValidationReport], folder: Path) -> dict[str, Any]:
    """Record the outcome of ``checks`` beside the outputs they checked, then raise on a failure.

    The record is what the next step reads (:func:`passed`) before it makes the outputs visible.
    """
    from transforms.plumbing.storage import write_json_atomic

    write_json_atomic(
        folder / VALIDATION_RECORD,
        {"success": all(c.success for c in checks), "suites": [c.to_json() for c in checks]},
    )
    for check in checks:
        require(check)
    return {"suites": [c.suite for c in checks], "data_docs": checks[-1].data_docs}


def passed(folder: Path) -> bool:
    """Whether the outputs in ``folder`` passed their validation gate."""
    from transforms.plumbing.storage import read_json_or_none

    record = read_json_or_none(folder / VALIDATION_RECORD) or {}
    return bool(record.get("success"))
