"""Ratios, targets and the printed table of a benchmark run."""

import statistics
from typing import Any

#: reqspec's ops/s over the baseline's, at least.
RATIO_TARGETS = {"create": 0.8, "get": 0.7, "save": 0.8, "move": 0.4}
#: One get_by_instance_uuids of 1,000 against 1,000 single gets, at least.
BULK_TARGET = 4.0
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


def summarize(
    results: dict[str, dict[str, Any]], settings: dict[str, Any]
) -> dict[str, Any]:
    """Per backend: each implementation's numbers, the ratios, the checks."""
    backends = {}
    for backend, by_impl in results.items():
        core, lib = by_impl["core"], by_impl["reqspec"]
        ratios = {
            op: lib[op]["ops_per_second"] / core[op]["ops_per_second"]
            for op in OPERATIONS
        }
        checks = {
            f"{op} >= {target}x": ratios[op] >= target
            for op, target in RATIO_TARGETS.items()
        }
        checks[f"bulk >= {BULK_TARGET}x single gets"] = (
            lib["bulk"]["speedup"] >= BULK_TARGET
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


def render(summary: dict[str, Any]) -> str:
    lines = []
    for name, backend in summary["backends"].items():
        core, lib = backend["core"], backend["reqspec"]
        lines.append(f"== {name} ==")
        lines.append(
            f"{'operation':<10}{'impl':<9}{'ops/s':>9}{'p50 us':>9}"
            f"{'p99 us':>9}{'ratio':>8}"
        )
        for op in OPERATIONS:
            for impl, numbers in (("core", core), ("reqspec", lib)):
                m = numbers[op]
                ratio = (
                    f"{backend['ratios'][op]:.2f}x"
                    if impl == "reqspec"
                    else ""
                )
                lines.append(
                    f"{op:<10}{impl:<9}{m['ops_per_second']:>9.0f}"
                    f"{m['p50_us']:>9.0f}{m['p99_us']:>9.0f}{ratio:>8}".rstrip()
                )
        for impl, numbers in (("core", core), ("reqspec", lib)):
            b = numbers["bulk"]
            lines.append(
                f"bulk 1000 {impl:<9} one query "
                f"{b['bulk_seconds'] * 1e3:.1f} ms,"
                f" 1000 gets {b['single_seconds'] * 1e3:.1f} ms:"
                f" {b['speedup']:.1f}x"
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
