"""Turn ``results.json`` into ``report.md``, ``summary.txt`` and PNG plots (and the docs' figures block).

``python -m benchmarks.report RESULTS_DIR`` rewrites the report of an earlier run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOALS = {"ui": 1.2, "parakeet_load": 2.0, "canary_peak": 0.6, "second_request": 0, "e2e": 1.05}
# Decoded 16 kHz mono float32 audio: what the app must hold per minute of input, at least.
AUDIO_MIB_PER_MINUTE = 16000 * 4 * 60 / 2**20
# "Bounded" for figure 6: peak memory grows by at most this many times the decoded audio itself.
BOUNDED_FACTOR = 3.0
DOCS_START, DOCS_END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def _m(spread: dict | None):
    return None if not spread else spread.get("median")


def _ratio(a, b):
    return None if a is None or not b else a / b


def _fmt(value, unit="", digits=2):
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def verdict(ratio, goal) -> str:
    if ratio is None:
        return "not measured"
    if ratio <= goal:
        return "met"
    return f"missed by {ratio - goal:.2f}× ({(ratio / goal - 1) * 100:.0f} % over the goal)"


def slope(rows: list[dict], key: str, last_two: bool = False) -> float | None:
    """Least-squares growth of ``key`` per minute of audio; ``last_two``: between the two longest lengths only
    (what one more minute costs once the length is past any one pass or window)."""
    points = sorted((r["minutes"], r[key]) for r in rows if r.get(key) is not None and not r.get("error"))
    if len({m for m, _ in points}) < 2:
        return None
    if last_two:
        (x0, y0), (x1, y1) = points[-2], points[-1]
        return (y1 - y0) / (x1 - x0)
    import numpy as np

    x, y = np.array(points, dtype=float).T
    return float(np.polyfit(x, y, 1)[0])


# --- the summary rows ----------------------------------------------------------------------------------

def _row(number, name, app, base, ratio, goal, verdict_text="", note="") -> dict:
    return {"n": number, "figure": name, "app": app, "baseline": base,
            "ratio": _fmt(ratio, "×") if isinstance(ratio, (int, float)) else (ratio or "n/a"),
            "ratio_value": ratio if isinstance(ratio, (int, float)) else None,
            "goal": goal, "verdict": verdict_text, "note": note}


def rows(doc: dict) -> list[dict]:
    """The figures table: one row per figure (and per model, or per memory view), in figure order."""
    f = doc["figures"]
    tiny_note = ("tiny model: a fixed cost of NeMo, not the size that the goal is about; judge it with --full"
                 if doc["meta"]["mode"] == "quick" else "")
    out = []
    if "1_ui_served" in f:
        out += _ui_rows(f["1_ui_served"])
    if "2_parakeet_load" in f:
        out += _parakeet_load_rows(f["2_parakeet_load"], tiny_note)
    if "3_canary_load" in f:
        out += _canary_load_rows(f["3_canary_load"], tiny_note)
    if "4_second_request" in f:
        out += _second_request_rows(f["4_second_request"])
    if "5_end_to_end" in f:
        out += _end_to_end_rows(f["5_end_to_end"])
    if "6_scaling" in f:
        out += _scaling_rows(f["6_scaling"])
    if "7_gpu" in f:
        out += _gpu_rows(f["7_gpu"])
    return out


def _ui_rows(fig: dict) -> list[dict]:
    app, bare = _m(fig["app"]), _m(fig["bare"])
    r = _ratio(app, bare)
    return [_row(1, "UI served: start to HTTP 200", _fmt(app, " s"), f"bare gr.Blocks {_fmt(bare, ' s')}", r,
                 f"≤ {GOALS['ui']}×", verdict(r, GOALS["ui"]))]


def _parakeet_load_rows(fig: dict, tiny_note: str) -> list[dict]:
    app, read, raw = _m(fig["app_load"]), _m(fig["file_read"]), _m(fig["raw_restore_from"])
    stream = _m(fig.get("file_stream"))
    r = _ratio(app, read)
    return [
        _row(2, "Parakeet cold load (load_parakeet)", _fmt(app, " s"),
             f"read the .nemo into memory from the page cache {_fmt(read, ' s')}", r, f"≤ {GOALS['parakeet_load']}×",
             verdict(r, GOALS["parakeet_load"]),
             tiny_note or (f"streaming it through a 16 MiB buffer takes {_fmt(stream, ' s')}: "
                           f"{_fmt(_ratio(app, stream), '×')}" if stream is not None else "")),
        _row("2b", "  raw ASRModel.restore_from, same file", _fmt(raw, " s"), f"read into memory {_fmt(read, ' s')}",
             _ratio(raw, read), "reference", "app vs raw restore_from: " + _fmt(_ratio(app, raw), "×")),
    ]


def _canary_load_rows(fig: dict, tiny_note: str) -> list[dict]:
    app, raw, gpu = fig["app"], fig["raw_bf16"], fig.get("app_gpu_path") or {}
    base = "SALM.from_pretrained + bf16"
    app_dtypes = app.get("dtypes") or []
    cpu_note = tiny_note or ("the app keeps fp32 weights on a CPU (it casts to bf16 only on CUDA), the baseline "
                             "ends in bf16; see 3b for the app's GPU path" if "float32" in app_dtypes else "")
    out = _canary_peak_rows(app, raw, base, cpu_note) + _canary_gpu_path_rows(gpu, raw, base)
    a_s, r_s = _m(app["seconds"]), _m(raw["seconds"])
    out.append(_row("3d", "  Canary load time, app as called on this CPU", _fmt(a_s, " s"), f"{base} {_fmt(r_s, ' s')}",
                    _ratio(a_s, r_s), "reference",
                    f"app GPU path {_fmt(_m(gpu.get('seconds')), ' s')}; raw fp32 (no cast) "
                    f"{_fmt(_m(fig['raw_fp32']['seconds']), ' s')}, peak "
                    f"+{_fmt(_m(fig['raw_fp32']['peak_increase_mb']), ' MiB', 0)}"))
    a_tot, r_tot = _m(app["peak_rss_mb"]), _m(raw["peak_rss_mb"])
    out.append(_row("3e", "  Canary load, whole-process peak RSS, app on this CPU", _fmt(a_tot, " MiB", 0),
                    f"{base} {_fmt(r_tot, ' MiB', 0)}", _ratio(a_tot, r_tot), "reference"))
    return out


def _canary_peak_rows(app: dict, raw: dict, base: str, cpu_note: str) -> list[dict]:
    """Figure 3's goal as the app loads on this CPU: peak RSS above start, then anonymous memory only."""
    goal = f"≤ {GOALS['canary_peak']}×"
    a_inc, r_inc = _m(app["peak_increase_mb"]), _m(raw["peak_increase_mb"])
    r = _ratio(a_inc, r_inc)
    out = [_row(3, "Canary load peak RSS above start, app as called on this CPU", _fmt(a_inc, " MiB", 0),
                f"{base} {_fmt(r_inc, ' MiB', 0)}", r, goal, verdict(r, GOALS["canary_peak"]), cpu_note)]
    a_an, r_an = _m(app.get("anon_increase_mb")), _m(raw.get("anon_increase_mb"))
    if a_an is not None:
        r = _ratio(a_an, r_an)
        out.append(_row("3a", "  same, anonymous memory only (mapped checkpoint pages excluded)",
                        _fmt(a_an, " MiB", 0), f"{base} {_fmt(r_an, ' MiB', 0)}", r, goal,
                        verdict(r, GOALS["canary_peak"])))
    return out


def _canary_gpu_path_rows(gpu: dict, raw: dict, base: str) -> list[dict]:
    """Figure 3's goal on the app's bf16 GPU path (measured on the CPU, the copy to the card skipped)."""
    goal = f"≤ {GOALS['canary_peak']}×"
    if gpu and _m(gpu.get("peak_increase_mb")) is not None:
        g_inc, r_inc = _m(gpu["peak_increase_mb"]), _m(raw["peak_increase_mb"])
        r = _ratio(g_inc, r_inc)
        out = [_row("3b", "  app's GPU path (bf16; only the copy to the GPU skipped), peak RSS above start",
                    _fmt(g_inc, " MiB", 0), f"{base} {_fmt(r_inc, ' MiB', 0)}", r, goal,
                    verdict(r, GOALS["canary_peak"]))]
        g_an, r_an = _m(gpu.get("anon_increase_mb")), _m(raw.get("anon_increase_mb"))
        if g_an is not None:
            r = _ratio(g_an, r_an)
            out.append(_row("3c", "  app's GPU path, anonymous memory only", _fmt(g_an, " MiB", 0),
                            f"{base} {_fmt(r_an, ' MiB', 0)}", r, goal, verdict(r, GOALS["canary_peak"])))
        return out
    if gpu.get("errors"):
        return [_row("3b", "  app's GPU path (bf16)", "error", "", None, goal, "not measured", gpu["errors"][0][:200])]
    return []


def _second_request_rows(fig: dict) -> list[dict]:
    out = []
    for name in ("parakeet", "canary"):
        if name not in fig:
            continue
        loads = fig[name]["loads_second_request"]
        out.append(_row(4, f"Second request, {name}: model loads", f"{loads} load{'s' if loads != 1 else ''}",
                        f"first request: {fig[name]['loads_first_request']} load", f"{loads} loads", "0 loads",
                        "met" if loads == 0 else f"missed: {loads} load(s) on the second request"))
    return out


def _end_to_end_rows(fig: dict) -> list[dict]:
    out = []
    for name in ("parakeet", "canary"):
        entry = fig.get(name)
        if not isinstance(entry, dict) or entry.get("error"):
            out.append(_row(5, f"End to end, {name}", "error", "", None, f"≤ {GOALS['e2e']}×", "not measured"))
            continue
        app, raw = _m(entry["app"]), _m(entry["raw"])
        r = _ratio(app, raw)
        base = "model.transcribe([audio16k])" if name == "parakeet" else "model.generate, 40 s windows"
        st = entry.get("stages") or {}
        out.append(_row(5, f"End to end, {name} ({entry['audio_seconds']:.0f} s file)", _fmt(app, " s"),
                        f"{base} {_fmt(raw, ' s')}", r, f"≤ {GOALS['e2e']}×", verdict(r, GOALS["e2e"]),
                        f"app stages timed alone: decode {_fmt(st.get('decode_seconds'), ' s')}, windows "
                        f"{_fmt(st.get('plan_seconds'), ' s')}, writers {_fmt(st.get('write_seconds'), ' s')}; "
                        f"windows app {entry.get('app_windows')}, raw {entry.get('raw_windows')}"))
    return out


def _scaling_rows(fig: dict) -> list[dict]:
    out = []
    for name in ("parakeet", "canary"):
        data = fig.get(name) or []
        app_rows = [r for r in data if r["side"] == "app" and not r.get("error")]
        raw_rows = [r for r in data if r["side"] == "raw" and not r.get("error")]
        if app_rows:
            out.append(_scaling_row(name, app_rows, raw_rows))
    return out


def _scaling_row(name: str, app_rows: list[dict], raw_rows: list[dict]) -> dict:
    """Figure 6's goal: what one more minute costs in peak RSS between the two longest lengths."""
    limit = BOUNDED_FACTOR * AUDIO_MIB_PER_MINUTE
    longest = sorted(r["minutes"] for r in app_rows)[-2:]
    s_app = slope(app_rows, "peak_rss_mb", last_two=True)
    s_raw = slope(raw_rows, "peak_rss_mb", last_two=True)
    raw_span = sorted(r["minutes"] for r in raw_rows)[-2:]
    ok = s_app is not None and s_app <= limit
    return _row(6, f"Scaling, {name}: peak RSS per extra minute, {longest[0]:g} to {longest[-1]:g} min",
                _fmt(s_app, " MiB/min", 1),
                f"raw NeMo {_fmt(s_raw, ' MiB/min', 1)}" + (f" ({raw_span[0]:g} to {raw_span[-1]:g} min)"
                                                             if len(raw_span) == 2 else ""),
                "slope", f"bounded (≤ {limit:.0f} MiB/min)",
                "met" if ok else ("not measured" if s_app is None else f"missed by {s_app - limit:.1f} MiB/min"),
                note=f"the decoded audio alone is {AUDIO_MIB_PER_MINUTE:.1f} MiB/min; least-squares slope over "
                     f"all lengths {_fmt(slope(app_rows, 'peak_rss_mb'), ' MiB/min', 1)}")


def _gpu_rows(fig: dict) -> list[dict]:
    if not fig.get("taken"):
        return [_row(7, "GPU real-time factor, app vs raw, fp32 vs bf16", "not taken", "", "n/a", "report",
                     "GPU figures were not taken: " + fig.get("reason", "no GPU"))]
    out = []
    for name in ("parakeet", "canary"):
        entry = fig.get(name, {})
        if entry.get("error"):
            out.append(_row(7, f"GPU RTF, {name}", "error", "", None, "report", entry["error"]))
            continue
        app = _m(entry.get("app"))
        same = "raw_bfloat16" if entry.get("app_dtype") == "bfloat16" else "raw_float32"
        raw = _m(entry.get(same))
        out.append(_row(7, f"GPU RTF, {name} (app {entry.get('app_dtype')})", _fmt(app, "", 4),
                        f"raw {same[4:]} {_fmt(raw, '', 4)}; raw fp32 {_fmt(_m(entry.get('raw_float32')), '', 4)}",
                        _ratio(app, raw), "report", ""))
    return out


def table(rows_: list[dict]) -> str:
    lines = ["| # | Figure | App | Baseline (same run) | Ratio | Goal | Verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in rows_:
        verdict_text = r["verdict"] + (f" ({r['note']})" if r["note"] else "")
        lines.append(f"| {r['n']} | {r['figure'].strip()} | {r['app']} | {r['baseline']} | {r['ratio']} | "
                     f"{r['goal']} | {verdict_text} |")
    return "\n".join(lines)


def machine_lines(meta: dict) -> list[str]:
    m = meta["machine"]
    app = meta.get("app_version") or {}
    app_line = []
    if app.get("commit"):
        dirty = app.get("uncommitted") or []
        app_line = [f"- App measured: commit `{app['commit'][:12]}`"
                    + (f" plus uncommitted changes to {', '.join(f'`{d}`' for d in dirty)}" if dirty else "")]
    cores = f"{m['logical_cores']} logical cores" + (f" ({m['physical_cores']} physical)" if m.get("physical_cores") else "")
    return [f"- CPU: {m['cpu']}, {cores}; torch uses {m.get('torch_threads')} threads",
            f"- RAM: {m['ram_gib']} GiB; GPU: {m['gpu']}",
            f"- {m['os']}, Python {m['python']}; torch {m['torch']}, NeMo {m['nemo_toolkit']}, gradio {m['gradio']}, "
            f"transformers {m['transformers']}, huggingface_hub {m['huggingface_hub']}, PyAV {m['av']}"] + app_line


# --- plots ---------------------------------------------------------------------------------------------

def plots(doc: dict, out_dir: Path) -> list[str]:
    """Draw ``scaling.png`` and ``ratios.png`` into ``out_dir`` (what there is data for); their file names."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []
    scaling = doc["figures"].get("6_scaling")
    if scaling:
        _scaling_plot(plt, doc, scaling, out_dir / "scaling.png")
        made.append("scaling.png")
    ratio_rows = [r for r in rows(doc) if r["ratio_value"] is not None and r["goal"].startswith("≤")]
    if ratio_rows:
        _ratios_plot(plt, ratio_rows, out_dir / "ratios.png")
        made.append("ratios.png")
    return made


def _scaling_plot(plt, doc: dict, scaling: dict, path: Path) -> None:
    """Time (top) and peak RSS (bottom) against audio length, one column per model, app and raw NeMo."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for col, name in enumerate(("parakeet", "canary")):
        time_ax, memory_ax = axes[0][col], axes[1][col]
        data = [r for r in scaling.get(name) or [] if not r.get("error")]
        for side, style in (("app", "o-"), ("raw", "s--")):
            pts = sorted((r["minutes"], r) for r in data if r["side"] == side)
            if not pts:
                continue
            xs = [m for m, _ in pts]
            label = ("app (decode, windows, model, writers)" if side == "app" else
                     "raw NeMo, whole file" if name == "parakeet" else "raw NeMo, fixed 40 s windows")
            time_ax.plot(xs, [r["seconds"] for _, r in pts], style, label=label)
            memory_ax.plot(xs, [r["peak_rss_mb"] for _, r in pts], style, label=label)
        time_ax.set_title(f"{name}: processing time ({_scaling_model(doc, name)})")
        time_ax.set_xlabel("audio length (minutes)")
        time_ax.set_ylabel("seconds")
        memory_ax.set_title(f"{name}: peak RSS while transcribing")
        memory_ax.set_xlabel("audio length (minutes)")
        memory_ax.set_ylabel("MiB")
        for ax in (time_ax, memory_ax):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            ax.set_ylim(bottom=0)
    fig.suptitle(f"Scaling with audio length ({doc['meta']['mode']} mode, {doc['meta']['machine']['cpu']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ratios_plot(plt, ratio_rows: list[dict], path: Path) -> None:
    """Each ratio with a "≤" goal against that goal, green where met; log scale when they span over 20×."""
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(ratio_rows) + 1.5))
    names = [f"{r['n']}. {r['figure'].strip()}" for r in ratio_rows][::-1]
    values = [r["ratio_value"] for r in ratio_rows][::-1]
    goals = [float(r["goal"].strip("≤ ×")) for r in ratio_rows][::-1]
    colors = ["tab:green" if v <= g else "tab:red" for v, g in zip(values, goals)]
    ys = list(range(len(names)))
    ax.scatter(values, ys, s=90, color=colors, zorder=3, label="app ÷ baseline (green: goal met)")
    ax.scatter(goals, ys, marker="|", s=500, color="black", label="goal", zorder=2)
    for y, v in zip(ys, values):
        ax.annotate(f"{v:.2f}×", (v, y), textcoords="offset points", xytext=(8, 6), fontsize=8)
    ax.set_yticks(ys, names)
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    if max(values + goals) / min(values + goals) > 20:
        ax.set_xscale("log")
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel("app ÷ baseline measured in the same run (lower is better)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scaling_model(doc: dict, name: str) -> str:
    if doc["meta"]["mode"] == "full" and name == "parakeet":
        return "full-size"
    return "tiny"


# --- the report ----------------------------------------------------------------------------------------

def _spread_text(spread: dict | None, unit=" s", digits=2) -> str:
    if not spread or spread.get("median") is None:
        return "n/a"
    runs = ", ".join(f"{v:.{digits}f}" for v in spread["runs"])
    return f"median {spread['median']:.{digits}f}{unit} (runs: {runs})"


def _error_lines(fig: dict) -> list[str]:
    return [f"- error: {e}" for e in fig.get("errors", [])]


def details(doc: dict) -> list[str]:
    """The report's Details: per figure, how it was measured and every run."""
    f = doc["figures"]
    lines = []
    if "1_ui_served" in f:
        lines += _ui_details(f["1_ui_served"])
    if "2_parakeet_load" in f:
        lines += _parakeet_load_details(f["2_parakeet_load"])
    if "3_canary_load" in f:
        lines += _canary_load_details(f["3_canary_load"])
    if "4_second_request" in f:
        lines += _second_request_details(f["4_second_request"])
    if "5_end_to_end" in f:
        lines += _end_to_end_details(f["5_end_to_end"])
    if "6_scaling" in f:
        lines += _scaling_details(f["6_scaling"], doc)
    if "7_gpu" in f:
        lines += _gpu_details(f["7_gpu"])
    return lines


def _ui_details(fig: dict) -> list[str]:
    return ["### 1. UI served",
            f"Seconds from starting the process until `GET http://127.0.0.1:P/` answers 200, polled every 20 ms; "
            f"runs interleaved, one warm-up each not counted.",
            f"- app `{fig['app_command']}` (with the Parakeet file present): {_spread_text(fig['app'])}",
            f"- baseline `{fig['bare_command']}` (a bare `gr.Blocks()` with one Markdown): "
            f"{_spread_text(fig['bare'])}"] + _error_lines(fig)


def _parakeet_load_details(fig: dict) -> list[str]:
    size = fig.get("file_bytes")
    return ["", "### 2. Parakeet cold load",
            f"Each in a fresh process with NeMo already imported; the time of the call only. The `.nemo` "
            f"({size / 1e9:.2f} GB, {fig.get('parameters') or 0:,} parameters) is read once before, so reads "
            f"come from the page cache." if size else "",
            f"- app `load_parakeet(settings, torch.device('cpu'))`: {_spread_text(fig['app_load'])}; "
            f"peak RSS {_spread_text(fig['app_peak_rss_mb'], ' MiB', 0)}",
            f"- raw `ASRModel.restore_from(path)`: {_spread_text(fig['raw_restore_from'])}; "
            f"peak RSS {_spread_text(fig['raw_peak_rss_mb'], ' MiB', 0)}",
            f"- baseline: `open(path, 'rb').read()`, the whole file into memory: "
            f"{_spread_text(fig['file_read'], digits=3)}",
            f"- for reference, streaming it through one 16 MiB buffer (the page cache's transfer rate, nothing "
            f"kept): {_spread_text(fig.get('file_stream'), digits=3)}",
            f"- peak anonymous memory (mapped file pages excluded): app "
            f"{_spread_text(fig.get('app_peak_anon_mb'), ' MiB', 0)}; raw "
            f"{_spread_text(fig.get('raw_peak_anon_mb'), ' MiB', 0)}",
            "- The first app load of a run may include one-time work (e.g. a cached extracted copy); "
            "the runs above are in order."] + _error_lines(fig)


_CANARY_SIDES = (("app", "app `load_canary(settings, cpu)`"),
                 ("app_gpu_path", "app's GPU path (bf16), copy to the GPU skipped"),
                 ("raw_bf16", "raw `SALM.from_pretrained(repo, revision=...)` then `.to(torch.bfloat16)`"),
                 ("raw_fp32", "raw `SALM.from_pretrained(repo, revision=...)`, no cast"))


def _canary_load_details(fig: dict) -> list[str]:
    lines = ["", "### 3. Canary-Qwen load: peak memory and time",
             "Each load in a fresh process with NeMo imported. *Peak above start* is the process's peak RSS "
             "minus its RSS when the load began (both start from the same forked state); *whole-process peak* "
             "includes the ~0.5-1 GB of imported libraries. RSS also counts the pages of a memory-mapped "
             "checkpoint that have been read (safetensors maps the file): they are page cache the kernel can "
             "drop, so *anonymous* memory (`RssAnon`, sampled every 10 ms) is shown too: that is the memory "
             "that cannot be given back.",
             "- *app's GPU path*: `load_canary(settings, torch.device('cuda'))` run on this CPU with "
             "`nn.Module.to` told to skip moves to a CUDA device (dtype casts still happen): the app's own bf16 "
             "loading code, minus the copy to a GPU. Shown because the app casts to bf16 only on CUDA."]
    lines += [_canary_side_line(what, fig[key]) for key, what in _CANARY_SIDES if fig.get(key)]
    if fig.get("checkpoint_read_seconds") is not None:
        lines.append(f"- reading `model.safetensors` ({fig['checkpoint_bytes'] / 1e9:.2f} GB) from the page "
                     f"cache: {fig['checkpoint_read_seconds']:.2f} s")
    app_dtypes = fig["app"].get("dtypes") or []
    lines.append(f"- What the app does: on a CUDA device `load_canary` ends in bf16 (as NeMo's "
                 f"`salm_generate.py`); on this CPU run its weights ended in {', '.join(app_dtypes) or 'n/a'}. "
                 "The baseline is the raw load followed by the bf16 cast (what the app does on a GPU); the raw "
                 "fp32 load is shown as the like-for-like of a CPU load without a cast.")
    return lines + _error_lines(fig)


def _canary_side_line(what: str, side: dict) -> str:
    """One way of loading Canary-Qwen: its time, memory and weights, or its first error."""
    if side.get("errors") and _m(side.get("seconds")) is None:
        return f"- {what}: error {side['errors'][0]}"
    return (f"- {what}: time {_spread_text(side['seconds'])}; peak anonymous above start "
            f"{_spread_text(side.get('anon_increase_mb'), ' MiB', 0)}; peak RSS above start "
            f"{_spread_text(side['peak_increase_mb'], ' MiB', 0)}; whole-process peak "
            f"{_fmt(_m(side['peak_rss_mb']), ' MiB', 0)}; RSS after load "
            f"{_fmt(_m(side['rss_after_mb']), ' MiB', 0)}; weights "
            f"{', '.join(side.get('dtypes') or [])} "
            f"({(side.get('parameter_bytes') or 0) / 2**20:.0f} MiB)")


def _second_request_details(fig: dict) -> list[str]:
    lines = ["", "### 4. Second request for a loaded model",
             f"One `ModelCache`, two `engine.transcribe` calls per model on {fig.get('audio_seconds')} s of audio; "
             "`ModelCache.load_count` counted around each."]
    for name in ("parakeet", "canary"):
        if name in fig:
            d = fig[name]
            lines.append(f"- {name}: {d['loads_first_request']} load on the first request "
                         f"({d['first_request_seconds']:.2f} s), **{d['loads_second_request']} loads on the "
                         f"second request** ({d['second_request_seconds']:.2f} s)")
    return lines + _error_lines(fig)


def _end_to_end_details(fig: dict) -> list[str]:
    lines = ["", "### 5. App end to end against raw NeMo",
             f"Input `{fig.get('source')}` (speech-like talk with pauses, MP3 44.1 kHz stereo). Same loaded model "
             "for both sides, one warm-up each, then runs interleaved (alternating which goes first).",
             "- app: `batch.transcribe_file(cache, model, file, [txt, srt, vtt, json, csv])`: decode with "
             "`audio.decode_audio`, windows (`long_audio.plan`), the model, the five writers.",
             "- raw Parakeet: `model.transcribe([audio16k], timestamps=True, verbose=False)` on the already "
             "decoded 16 kHz audio (timestamps on both sides: the app's subtitles need them, and NeMo keeps "
             "the setting on the model).",
             "- raw Canary: the 16 kHz audio cut in fixed 40 s windows (Canary's training limit; raw NeMo has "
             "to be called that way too), the app's batch size per `model.generate(prompts, audios, "
             "audio_lens, max_new_tokens=...)` call, the app's prompt and token limit, `ids_to_text`."]
    for name in ("parakeet", "canary"):
        d = fig.get(name)
        if not isinstance(d, dict):
            continue
        if d.get("error"):
            lines.append(f"- {name}: error {d['error']}")
            continue
        st = d["stages"]
        lines.append(f"- {name}: app {_spread_text(d['app'])}; raw {_spread_text(d['raw'])}; app windows "
                     f"{d['app_windows']}, raw windows {d['raw_windows']}; app stages timed alone: decode "
                     f"{st['decode_seconds']:.3f} s, windows plan {st['plan_seconds']:.3f} s, writers "
                     f"{st['write_seconds']:.3f} s")
    return lines + _error_lines(fig)


def _scaling_details(fig: dict, doc: dict) -> list[str]:
    lines = ["", "### 6. Scaling with audio length",
             "Each point is a fresh process: the model is loaded through `ModelCache`, memory released, the peak "
             "reset, then one file (speech-like talk with pauses, 16 kHz mono FLAC, after an 8 s warm-up through "
             "the same path) goes through the app (`batch.transcribe_file`, decode included) or raw NeMo "
             "(the whole decoded file in one `transcribe` call for Parakeet; 40 s windows for Canary). Peak RSS "
             "is the whole process's; *working* is the peak minus the RSS with the model loaded. Raw Parakeet "
             f"is measured up to {fig['raw_max_minutes']['parakeet']} min: its full attention needs memory "
             "quadratic in the length.",
             "", "| model | minutes | side | seconds | RTF | peak RSS (MiB) | working (MiB) | segments / windows |",
             "|---|---|---|---|---|---|---|---|"]
    for name in ("parakeet", "canary"):
        for r in sorted(fig.get(name) or [], key=lambda r: (r["side"], r["minutes"])):
            lines.append(_scaling_table_row(name, r, doc))
    lines.append("")
    lines += _scaling_slope_lines(fig)
    lines.append(f"- *Bounded* means: past the longest single pass or window, one more minute of audio costs at "
                 f"most {BOUNDED_FACTOR:g}× the decoded audio itself ({BOUNDED_FACTOR * AUDIO_MIB_PER_MINUTE:.0f} "
                 "MiB/min), so the peak does not grow with the model's work on the length.")
    return lines + _error_lines(fig)


def _scaling_table_row(name: str, r: dict, doc: dict) -> str:
    if r.get("error"):
        return f"| {name} | {r['minutes']:g} | {r['side']} | error: {r['error']} | | | | |"
    rtf = r["seconds"] / (r["minutes"] * 60)
    return (f"| {name} ({_scaling_model(doc, name)}) | {r['minutes']:g} | {r['side']} | "
            f"{r['seconds']:.1f} | {rtf:.3f} | {r['peak_rss_mb']:.0f} | {r['working_mb']:.0f} | "
            f"{r.get('segments', r.get('windows', ''))} |")


def _scaling_slope_lines(fig: dict) -> list[str]:
    """How fast peak RSS grows with the length, per model and side: over all lengths and past the longest pass."""
    lines = []
    for name in ("parakeet", "canary"):
        data = fig.get(name) or []
        for side in ("app", "raw"):
            pts = [r for r in data if r["side"] == side]
            s = slope(pts, "peak_rss_mb")
            if s is not None:
                lines.append(f"- {name} {side}: peak RSS grows {s:.1f} MiB per minute of audio over all lengths "
                             f"(least squares), {slope(pts, 'peak_rss_mb', last_two=True):.1f} MiB/min between "
                             f"the two longest; the decoded 16 kHz audio itself is "
                             f"{AUDIO_MIB_PER_MINUTE:.1f} MiB/min")
    return lines


def _gpu_details(fig: dict) -> list[str]:
    lines = ["", "### 7. GPU"]
    if not fig.get("taken"):
        return lines + [f"GPU figures were not taken: {fig.get('reason', 'no GPU')}."]
    lines.append(f"{fig['device']}, {fig['audio_seconds']:.0f} s file, batch size {fig['batch_size']}; "
                 "real-time factor = processing seconds per second of audio (lower is faster).")
    for name in ("parakeet", "canary"):
        e = fig.get(name, {})
        lines.append(f"- {name}: app ({e.get('app_dtype')}) {_spread_text(e.get('app'), '', 4)}; raw fp32 "
                     f"{_spread_text(e.get('raw_float32'), '', 4)}; raw bf16 "
                     f"{_spread_text(e.get('raw_bfloat16'), '', 4)}"
                     + (f"; error {e['error']}" if e.get("error") else ""))
    return lines


def model_lines(meta: dict) -> list[str]:
    models = meta.get("models", {})
    lines = []
    tiny = models.get("tiny")
    full = models.get("full")
    if meta["mode"] == "quick":
        lines.append("- **Tiny models** of the test suite (`tests/tiny_models.py`): a 2-layer FastConformer-TDT "
                     "Parakeet whose decoder is scripted to emit a fixed sentence, and a 1-layer SALM on a 2-layer "
                     "Qwen3 whose greedy decoding emits a token every step up to the token limit. Quick mode measures "
                     "the app's overheads around NeMo, not NeMo's cost at full size: loads take a fraction of a "
                     "second and memory is dominated by the imported libraries, so the load and memory goals are "
                     "judged by `--full`.")
        minutes = meta.get("plan", {}).get("scaling_minutes", {})
        if isinstance(minutes, list):
            minutes = {"both models": minutes}
        lines.append("- Scaling uses shorter audio than the full mode's 1, 10, 30 and 60 minutes, with the tiny "
                     "models: " + "; ".join(f"{k} {', '.join(f'{m:g}' for m in v)} min" for k, v in minutes.items())
                     + " (Parakeet's lengths straddle its 5-minute CPU pass, so bounded memory shows).")
    else:
        p, c = full.get("parakeet", {}), full.get("canary", {})
        cal = p.get("calibration", {})
        lines.append(f"- **Parakeet-TDT-0.6B-v2 architecture**, random weights: {p.get('parameters', 0):,} parameters, "
                     f"`.nemo` {p.get('bytes', 0) / 1e9:.3f} GB; built in {p.get('total_seconds')} s "
                     f"(peak RSS {p.get('peak_rss_mb')} MiB). **The joint's blank output is biased by "
                     f"{cal.get('blank_bias')}** so that greedy TDT decoding of speech-like audio emits "
                     f"{cal.get('tokens_per_second')} tokens/s (target {cal.get('target_tokens_per_second')}, the rate "
                     f"of real speech) instead of {cal.get('unbiased_tokens_per_second')} tokens/s with plain random "
                     "weights (a token on almost every 80 ms frame).")
        lines.append(f"- **Canary-Qwen-2.5B architecture**, random weights, bf16 checkpoint: {c.get('parameters', 0):,} "
                     f"parameters, `model.safetensors` {c.get('safetensors_bytes', 0) / 1e9:.3f} GB, in a local HF "
                     f"cache at the pinned commits; built in {c.get('total_seconds')} s (peak RSS "
                     f"{c.get('peak_rss_mb')} MiB). Used for figures 1 and 3 (and 7 on a GPU). Its tokenizer is the "
                     "tests' tiny one (the 151,936-row embedding only needs to cover it).")
        lines.append("- Canary-Qwen *generation* at full size (a 1.7 B-parameter LLM step per token, up to 320 tokens "
                     "per 40 s window) is far too slow on a CPU for an hour of audio, so figures 4, 5 and 6 use the "
                     "tiny SALM for Canary; Parakeet is full size in all figures.")
    if tiny:
        lines.append(f"- Tiny models built in {tiny['parakeet']['build_seconds'] + tiny['canary']['build_seconds']:.0f} s.")
    return lines


def contention_lines(meta: dict) -> list[str]:
    lines = []
    for phase, value in (meta.get("other_load") or {}).items():
        if value.get("foreign_share", 0) > 0.05:
            lines.append(f"**Warning: other processes used {value['foreign_share']:.0%} of the CPU during {phase} "
                         f"({value['foreign_cpu_seconds']:.0f} CPU-s in {value['wall_seconds']:.0f} s): its timings "
                         "are noisy. Rerun on a quiet machine.**")
    return lines + ([""] if lines else [])


def markdown(doc: dict, plot_files: list[str]) -> str:
    meta = doc["meta"]
    out = [f"# Benchmark report: {meta['mode']} mode, {meta['timestamp']}", "",
           f"Reproduce: `{meta['command']}` (from the repository root; {meta['seconds']:.0f} s for this run).", "",
           "Every ratio is the app's figure divided by the baseline measured **in the same run, on the same input, "
           "on this machine** (medians of several runs). Benchmarks are not tests: nothing asserts a time.", "",
           *contention_lines(meta),
           "## Machine", *machine_lines(meta), "", "## Models", *model_lines(meta), "",
           "## Figures", table(rows(doc)), ""]
    if plot_files:
        out += ["## Plots", *[f"![{name}]({name})" for name in plot_files], ""]
    out += ["## Details", *details(doc), ""]
    return "\n".join(out)


def summary_text(doc: dict) -> str:
    lines = []
    for r in rows(doc):
        lines.append(f"{str(r['n']):>3}  {r['figure'].strip():<48} {r['app']:>16}  vs {r['baseline']:<44} "
                     f"{r['ratio']:>8}  goal {r['goal']:<24} {r['verdict']}")
    return "\n".join(lines) + "\n"


def write_report(doc: dict, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    made = plots(doc, out_dir)
    (out_dir / "report.md").write_text(markdown(doc, made), encoding="utf-8")
    (out_dir / "summary.txt").write_text(summary_text(doc), encoding="utf-8")


def write_docs(doc: dict, out_dir: Path, docs_path: Path) -> None:
    """Replace the figures block of docs/PERFORMANCE.md with this run's table, machine and command."""
    meta = doc["meta"]
    try:
        shown = Path(out_dir).resolve().relative_to(docs_path.resolve().parent.parent)
    except ValueError:
        shown = out_dir
    block = "\n".join([DOCS_START,
                       f"Run {meta['timestamp']} ({meta['mode']} mode): `{meta['command']}`; full report in "
                       f"`{shown}/report.md` (results are not committed).", "",
                       *machine_lines(meta), "", table(rows(doc)), DOCS_END])
    text = docs_path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(DOCS_START) + ".*?" + re.escape(DOCS_END), re.S)
    docs_path.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                     description="Rewrite the report (and plots) of an earlier run.")
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--write-docs", action="store_true", help="also copy its figures into docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    out_dir = args.results_dir
    doc = json.loads((out_dir / "results.json").read_text())
    write_report(doc, out_dir)
    if args.write_docs:
        write_docs(doc, out_dir, Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md")
    print((out_dir / "summary.txt").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
