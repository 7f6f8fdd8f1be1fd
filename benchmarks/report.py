"""Ratios, targets and the printed table of a benchmark run."""

import functools
import statistics
from typing import Any

#: reqspec's ops/s over the baseline's, at least.
RATIO_TARGETS = {"create": 0.8, "get": 0.7, "save": 0.8, "move": 0.4}
#: One get_by_instance_uuids of 1,000 specs, per backend: ("core", x) is at
#: least x of the speed of Core's one query of the same rows, each document
#: parsed by the standard library's json; ("single", x) is at least x times
#: faster than 1,000 single gets. (On SQLite, with no round trip to save,
#: Core itself gains under 3x from batching: the floor to compare with is
#: Core's own batch.)
BULK_TARGETS = {"sqlite": ("core", 0.7), "postgresql": ("single", 4.0)}
#: Stored bytes of the realistic spec, at most.
DOCUMENT_TARGET = 2100
#: Resident memory growth between the first and last tenth of the
#: iteration, at most (flat: batches are freed as the caller moves on).
MEMORY_GROWTH_TARGET_MIB = 16.0

OPERATIONS = ("create", "get", "save", "move")


def median_of(runs: list[Any]) -> Any:
    """One result of several runs: the median of every number (lists
    element-wise), keys taken from whichever runs have them."""
    first = runs[0]
    if isinstance(first, dict):
        keys = {k for run in runs for k in run}
        return {
            k: median_of([run[k] for run in runs if k in run]) for k in keys
        }
    if isinstance(first, list):
        return [median_of(list(items)) for items in zip(*runs, strict=False)]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(runs)
    return first


def _ratios(core: dict[str, Any], lib: dict[str, Any]) -> dict[str, float]:
    """reqspec's speed over Core's, per operation and for the bulk read."""
    ratios = {
        op: lib[op]["ops_per_second"] / core[op]["ops_per_second"]
        for op in OPERATIONS
    }
    ratios["bulk"] = core["bulk"]["bulk_seconds"] / lib["bulk"]["bulk_seconds"]
    return ratios


def summarize(
    results: dict[str, dict[str, Any]],
    settings: dict[str, Any],
    rounds: dict[str, dict[str, list[Any]]] | None = None,
) -> dict[str, Any]:
    """Per backend: each implementation's numbers, the ratios (of the
    medians, and each round's, whose range is the spread), the checks."""
    backends = {}
    for backend, by_impl in results.items():
        core, lib = by_impl["core"], by_impl["reqspec"]
        ratios = _ratios(core, lib)
        # Round i of each side ran back to back: their ratio is one sample.
        pairs = zip(*(rounds or {}).get(backend, {}).values(), strict=True)
        per_round = [_ratios(c, r) for c, r in pairs]
        spread = {
            op: [min(r[op] for r in per_round), max(r[op] for r in per_round)]
            for op in ratios
            if per_round
        }
        checks = {
            f"{op} >= {target}x": ratios[op] >= target
            for op, target in RATIO_TARGETS.items()
        }
        kind, target = BULK_TARGETS.get(backend, ("single", 4.0))
        if kind == "core":
            checks[f"bulk >= {target}x core's one query"] = (
                ratios["bulk"] >= target
            )
        else:
            checks[f"bulk >= {target}x single gets"] = (
                lib["bulk"]["speedup"] >= target
            )
        checks[f"document <= {DOCUMENT_TARGET} bytes"] = (
            lib["document_bytes"] <= DOCUMENT_TARGET
        )
        if "memory" in lib:
            checks[f"memory growth <= {MEMORY_GROWTH_TARGET_MIB:g} MiB"] = (
                lib["memory"]["growth_mib"] <= MEMORY_GROWTH_TARGET_MIB
            )
        backends[backend] = {
            "core": core,
            "reqspec": lib,
            "ratios": ratios,
            "ratio_spread": spread,
            "checks": checks,
        }
    return {
        "settings": {
            k: settings[k]
            for k in ("count", "moves", "memory_rows", "rounds", "backend")
        },
        "backends": backends,
    }


def all_met(summary: dict[str, Any]) -> bool:
    return all(
        ok
        for backend in summary["backends"].values()
        for ok in backend["checks"].values()
    )


def _shown_ratio(backend: dict[str, Any], op: str) -> str:
    """The median rounds' ratio, and the range of each round's."""
    text = f"{backend['ratios'][op]:.2f}x"
    low_high = backend.get("ratio_spread", {}).get(op)
    if low_high:
        text += f" ({low_high[0]:.2f}-{low_high[1]:.2f})"
    return text


def render(summary: dict[str, Any]) -> str:
    lines = []
    for name, backend in summary["backends"].items():
        core, lib = backend["core"], backend["reqspec"]
        lines.append(f"== {name} ==")
        ratio = functools.partial(_shown_ratio, backend)
        lines.append(
            f"{'operation':<10}{'impl':<9}{'ops/s':>9}{'p50 us':>9}"
            f"{'p99 us':>9}  ratio (range over rounds)"
        )
        for op in OPERATIONS:
            for impl, numbers in (("core", core), ("reqspec", lib)):
                m = numbers[op]
                shown = ratio(op) if impl == "reqspec" else ""
                lines.append(
                    f"{op:<10}{impl:<9}{m['ops_per_second']:>9.0f}"
                    f"{m['p50_us']:>9.0f}{m['p99_us']:>9.0f}  {shown}".rstrip()
                )
        for impl, numbers in (("core", core), ("reqspec", lib)):
            b = numbers["bulk"]
            lines.append(
                f"bulk 1000 {impl:<9} one query "
                f"{b['bulk_seconds'] * 1e3:.1f} ms,"
                f" 1000 gets {b['single_seconds'] * 1e3:.1f} ms:"
                f" {b['speedup']:.1f}x"
            )
        lines.append(
            f"bulk      reqspec over core's one query: {ratio('bulk')}"
        )
        lines.append(f"document  reqspec  {lib['document_bytes']} bytes")
        for impl, numbers in (("core", core), ("reqspec", lib)):
            mem = numbers.get("memory")
            if mem:
                samples = ", ".join(f"{s:.0f}" for s in mem["rss_samples_mib"])
                lines.append(
                    f"memory    {impl:<9}{mem['rows']} rows in "
                    f"{mem['seconds']:.1f} s, RSS MiB per tenth: {samples}"
                )
        lines.append(
            "targets: "
            + ", ".join(
                f"{check} {'ok' if ok else 'MISSED'}"
                for check, ok in backend["checks"].items()
            )
        )
        lines.append("")
    return "\n".join(lines)
