"""The simulation's table: one row per phase, then the run's totals and the notes."""
from __future__ import annotations

from typing import Any

__all__ = ["format_table"]

COLUMNS = [("phase", "name", "<"), ("pods", "pods", ">"), ("seconds", "seconds", ">"),
           ("pods Running/s", "pods_per_s", ">"), ("p50 s", "p50_s", ">"), ("p90 s", "p90_s", ">"),
           ("p99 s", "p99_s", ">"), ("API writes/s", "writes_per_s", ">"), ("ok", "ok", "<")]


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "ok":
        return "yes" if value else "NO"
    if key in ("p50_s", "p90_s", "p99_s"):
        return f"{value:.2f}"
    if key == "seconds":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(result: dict[str, Any]) -> str:
    """``result``: a :meth:`SimResult.to_dict`."""
    header = [title for title, _, _ in COLUMNS]
    body = [[_cell(key, phase.get(key)) if not (phase.get("skipped") and key != "name") else
             ("skipped" if key == "ok" else "-") for _, key, _ in COLUMNS] for phase in result["phases"]]
    widths = [max(len(header[i]), *(len(b[i]) for b in body)) if body else len(header[i])
              for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if align == "<" else c.rjust(w)
                         for c, w, (_, _, align) in zip(cells, widths, COLUMNS)).rstrip()

    cfg = result["config"]
    out = [line(header), line(["-" * w for w in widths]), *(line(b) for b in body), ""]
    load = result.get("load_average")
    cycles = result.get("gc_cycles_collected_at_end")
    gc_text = result.get("gc", "") + (f" ({cycles:,} cycles collected at the end)" if cycles is not None else "")
    out.append(f"{cfg['nodes']:,} hollow nodes, {cfg['pods']:,} pods in {cfg['deployments']:,} Deployments, "
               f"store: {result['store']}" + (f"; gc: {gc_text}" if gc_text else "") +
               (f"; cpus: {result['cpus']}" if result.get("cpus") else "") +
               f"; {result['seconds']:.0f} s in all; peak RSS "
               f"{result['peak_rss_mib']:,.0f} MiB" + (f"; load average {load[0]:.1f}" if load else ""))
    density = next((p for p in result["phases"] if p["name"] == "density"), None)
    if density and density.get("p99_s") is not None:
        verdict = "within" if density["p99_s"] <= result["slo_seconds"] else "ABOVE"
        out.append(f"pod startup p99 {density['p99_s']:.2f} s: {verdict} Kubernetes' SLO "
                   f"({result['slo_seconds']:g} s, create -> Running)")
    out += [f"{p['name']}: {p['note']}" for p in result["phases"] if p.get("note")]
    return "\n".join(out)
