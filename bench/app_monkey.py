"""The app monkey for minutes: seeded random user gestures on the real window, playing into a
real JACK server, with memory figures.

The same driver as ``tests/app/test_monkey.py`` (``tests/support/app_monkey.py``): pad
drags, knob turns and double-clicks, Randomize, Variation, undo/redo, step-grid clicks,
tempo, play/stop, output port and MIDI API switches, clip load, export, presets, all through
the widgets and QActions. Offscreen Qt, the shipped checkpoint (or ``--checkpoint``), a
``jackd -d dummy`` server and two recording JACK clients in their own processes.

Reported (JSON on stdout, and to ``--json FILE``):
  * actions done, per kind and per minute;
  * exceptions and Qt critical messages (target 0), modal windows nobody answered, exported
    clips that do not read back, whether Randomize still answered at the end;
  * stuck notes after stop and close (target 0) at two recording JACK clients, one on the
    app's virtual port and one the monkey points the output at by name, and the note-ons
    each heard;
  * memory of the app process and of the clock process at start (model loaded), after the
    warm-up, every minute and at the end: RSS, and RssAnon (the heap; RSS also holds mapped
    libraries, which the kernel's reclaim drops and faults back in, so RSS swings by a
    hundred MB with no change in the heap); the growth after the warm-up in MB and MB per
    hour, end minus warm-up and as a least-squares slope over the per-minute samples (a
    leak shows as steady growth after the warm-up); the same for each minute's floor (its
    lowest reading, taken every 5 s), which transient peaks do not move; live Python
    objects per minute;
  * the GUI thread's longest stall per minute (a 10 ms timer's largest gap; when it ended,
    on the action log's clock, in ``minutes_detail``), every stall of 200 ms or more with the
    sequencer link's command running when it began, and the load average, since other work
    on the machine shows in all of them.

Exit status 1 when there was an exception, a stuck note, or the app stopped answering.

    .venv/bin/python bench/app_monkey.py [--minutes 10] [--seed 1] [--clips $GROOVE] \
        [--json bench/app_monkey.json]
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import emit_json  # noqa: E402

from models.atomic import atomic_write  # noqa: E402
from tests.support.jack_server import JACKD, start_test_server  # noqa: E402

PROBE_S = 5.0  # memory is read this often; each minute reports its lowest reading too


def _slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(samples) < 2:
        return None
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    return None if den == 0 else sum((t - mt) * (v - mv) for t, v in samples) / den * 3600


def _shown_path(path: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    return " ".join([Path(argv[0]).name, *argv[1:]]).strip()[:70]  # no machine paths in the report


def _object_types() -> Counter:
    """Live objects the garbage collector tracks, counted by type name."""
    return Counter(type(o).__name__ for o in gc.get_objects())


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def run(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(1)
    from PySide6.QtWidgets import QApplication

    from app.main import create_window, make_settings
    from tests.support.app_monkey import (
        AppMonkey,
        ErrorTrap,
        Listeners,
        StallProbe,
        child_pids,
        point_at_jack,
        qwait,
        responds,
        rss_mb,
        wait_until,
    )

    if JACKD is None:
        raise SystemExit("app_monkey: jackd is not installed")
    clips = sorted(Path(args.clips).rglob("*.mid")) if args.clips else []
    work = Path(tempfile.mkdtemp(prefix="gf-monkey-"))
    server = start_test_server()
    os.environ.update({k: v for k, v in server.env.items() if k.startswith("JACK_")})
    app = QApplication.instance() or QApplication(sys.argv[:1])
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_start": _loadavg()}
    result: dict = {"seed": args.seed, "minutes": args.minutes, "checkpoint": _shown_path(args.checkpoint),
                    "clips_folder": Path(args.clips).name if args.clips else None, "clip_files": len(clips),
                    "machine": machine}
    ears = None
    window = None
    try:
        with ErrorTrap() as trap:
            if args.kit == "off":
                store = make_settings(str(work / "settings.ini"))
                store.setValue("audio/enabled", "false")
                store.sync()
                del store
            window, controller = create_window(checkpoint=str(args.checkpoint), midi_api="jack",
                                               settings_path=str(work / "settings.ini"), start_link=True)
            window.resize(1200, 720)
            window.show()
            window.activateWindow()
            controller.load_model(str(args.checkpoint))
            ready = wait_until(lambda: bool(window.knobs.knobs) and window.grid.pattern.num_hits > 0, 120) \
                and wait_until(lambda: window.transport.status.text().startswith("MIDI out"), 60)
            if not ready:
                raise SystemExit("app_monkey: the window never got ready "
                                 f"({window.transport.status.text()!r}, errors {trap.errors})")
            ears = Listeners(server, work / "recorded")
            if not ears.virtual.wait_connected():
                raise SystemExit("app_monkey: the recorder never connected to the app's JACK port")
            own = {os.getpid(), *ears.pids, server.proc.pid if server.proc else -1}

            def clock_rss(field: str = "VmRSS") -> float:
                return round(sum(rss_mb(p, field) for p in child_pids() if p not in own), 1)

            def memory() -> dict[str, float]:
                return {"rss": round(rss_mb(), 1), "anon": round(rss_mb(None, "RssAnon"), 1),
                        "clock_rss": clock_rss(), "clock_anon": clock_rss("RssAnon")}

            def children() -> dict[str, float]:
                return {f"{p} {_cmd(p)}": round(rss_mb(p), 1) for p in child_pids() if p not in own}

            log_path = Path(args.log) if args.log else work / "actions.log"
            log_file = open(log_path, "w")  # noqa: SIM115 - open for the whole run
            print(f"app_monkey: actions logged to {log_path}", file=sys.stderr, flush=True)
            monkey = AppMonkey(window, args.seed, work / "monkey", clips, log_size=args.log_tail, trap=trap,
                               log_to=log_file, avoid_outputs=[ears.virtual.port])
            if args.tracemalloc:
                tracemalloc.start(12)
            traced = None
            link = window.controller.transport.link
            mono_minus_perf = time.monotonic() - time.perf_counter()

            def link_doing(start: float) -> str:
                """The sequencer link's command running when a stall began (its thread opens
                ports and inputs, which can hold the interpreter lock), and those it started
                during the stall."""
                began, ended = start + mono_minus_perf, time.monotonic()
                history = list(link.history) if link else []
                before = [(t, name) for t, name in history if t <= began]
                during = [name for t, name in history if began < t <= ended]
                running = f"{before[-1][1]} (started {1000 * (began - before[-1][0]):.0f} ms before)" \
                    if before else "?"
                return f"link running {running}; started during it: {', '.join(during[:4]) or 'none'}"

            probe = StallProbe(context=link_doing)
            t0 = time.monotonic()
            start_mem = memory()
            minutes: list[dict] = []
            next_sample, next_probe = t0 + 60, t0
            floors: dict[str, float] = {}  # the lowest reading of each figure this minute
            end = t0 + args.minutes * 60
            with monkey.running():
                while time.monotonic() < end:
                    monkey.step()
                    now = time.monotonic()
                    if now >= next_probe:  # transient peaks (a 16-bar clip, a heat-map batch)
                        next_probe += PROBE_S  # come and go: a leak raises the floor
                        for k, v in memory().items():
                            floors[k] = min(v, floors.get(k, v))
                    if now >= next_sample:
                        next_sample += 60
                        minutes.append({"t_s": round(now - t0, 1), "actions": monkey.report.actions,
                                        **{f"{k}_mb": v for k, v in memory().items()},
                                        **{f"{k}_floor_mb": v for k, v in floors.items()},
                                        "children": children(), "python_objects": len(gc.get_objects()),
                                        "gui_max_stall_ms": round(probe.max_gap_ms, 1),
                                        # when it ended, on the action log's clock (--log)
                                        "gui_max_stall_end_s": round(probe.max_gap_end - monkey.t0, 2),
                                        "errors": len(trap.errors), "loadavg": _loadavg()})
                        if args.tracemalloc and traced is None and now - t0 >= args.warmup_minutes * 60:
                            traced = tracemalloc.take_snapshot()
                            types_then = _object_types()
                        probe.reset()
                        floors = {}
                        print(f"app_monkey: {minutes[-1]}", file=sys.stderr, flush=True)
                        if args.json:  # so far: what is left if the process dies
                            partial = json.dumps({**result, "finished": False,
                                                  "actions": monkey.report.actions,
                                                  "exceptions": len(trap.errors), "errors": trap.errors[:20],
                                                  "minutes_detail": minutes}, indent=2)
                            atomic_write(args.json, lambda f, text=partial: f.write(text + "\n"), text=True)
            elapsed = time.monotonic() - t0
            log_file.close()
            if traced is not None:
                growth = tracemalloc.take_snapshot().compare_to(traced, "traceback")
                result["tracemalloc_top_growth"] = [
                    {"kib": round(d.size_diff / 1024, 1), "count": d.count_diff,
                     "where": [f"{f.filename}:{f.lineno}" for f in d.traceback][-6:]} for d in growth[:15]]
                tracemalloc.stop()
                grown = _object_types()
                grown.subtract(types_then)
                result["object_type_growth"] = dict(grown.most_common(15))
            end_mem = memory()
            probe.stop()
            trap.where = "after the actions"
            problems = monkey.modal_errors + monkey.check_exports()
            port_back = point_at_jack(window)
            answered = responds(window)
            # stop and close with notes sounding: their note-offs are part of the check
            mark = time.perf_counter_ns()
            if not window.transport.play_button.isChecked():
                window.transport.play_button.click()
            played = wait_until(lambda: ears.note_ons_since(mark) >= 4, 20)
            ts = window.controller.transport
            # what was playing then, to tell a sparse groove at a slow tempo from silence
            end_state = {"note_ons_heard": ears.note_ons_since(mark), "hits": window.grid.pattern.num_hits,
                         "tempo_bpm": ts["tempo_bpm"], "clock_source": ts["clock_source"],
                         "playing": ts.playing, "midi_status": window.transport.status.text()}
            window.transport.play_button.click()
            wait_until(lambda: not window.transport.play_button.isChecked(), 10)
            qwait(200)
            window.close()
            window = None
            qwait(300)
        ears.stop()
        heard = ears.check(monkey.t0)
    finally:
        if ears is not None:
            ears.stop()
        if window is not None:
            window.close()
        server.stop()
    stuck = heard["problems"]
    warm = args.warmup_minutes * 60

    def growth(key: str) -> dict:
        after = [(m["t_s"], m[f"{key}_mb"]) for m in minutes if m["t_s"] >= warm - 1]
        after.append((elapsed, end_mem[key]))
        hours_after = max(1e-9, (elapsed - after[0][0]) / 3600)
        slope = _slope_per_hour(after)
        floor = [(m["t_s"], m[f"{key}_floor_mb"]) for m in minutes if m["t_s"] >= warm - 1]
        floor_slope = _slope_per_hour(floor)
        return {"start": start_mem[key], "after_warmup": after[0][1], "end": end_mem[key],
                "per_minute": [m[f"{key}_mb"] for m in minutes],
                "growth_after_warmup": round(end_mem[key] - after[0][1], 1),
                "growth_per_hour": round((end_mem[key] - after[0][1]) / hours_after, 1),
                "slope_per_hour": round(slope, 1) if slope is not None else None,
                "floor_per_minute": [m[f"{key}_floor_mb"] for m in minutes],
                "floor_growth_after_warmup": round(floor[-1][1] - floor[0][1], 1) if floor else None,
                "floor_slope_per_hour": round(floor_slope, 1) if floor_slope is not None else None}
    result.update({
        "actions": monkey.report.actions,
        "actions_per_minute": round(monkey.report.actions / (elapsed / 60), 1),
        "action_counts": dict(sorted(monkey.report.counts.items())),
        "exceptions": len(trap.errors), "errors": trap.errors[:20], "warnings": trap.warning_count,
        "warning_examples": sorted(set(w.split("] ", 1)[-1] for w in trap.warnings))[:10],
        "other_problems": problems, "port_came_back": port_back, "responded_at_end": answered,
        "notes_at_end": played, "end_state": end_state,
        "note_ons_recorded": heard["note_ons"],
        "stuck_notes": len(stuck), "stuck": stuck[:20],
        "jack_cycles_delivered_twice_dropped": heard["replayed_cycles"],
        "memory_mb": {"app_rss": growth("rss"), "app_anon": growth("anon"),
                      "clock_process_rss": growth("clock_rss"), "clock_process_anon": growth("clock_anon")},
        "python_objects_per_minute": [m["python_objects"] for m in minutes],
        "warmup_minutes": args.warmup_minutes,
        "gui_max_stall_ms_per_minute": [m["gui_max_stall_ms"] for m in minutes],
        # the longest of the stalls >= 200 ms: when they ended (the action log's clock) and
        # the sequencer link's command running when they began
        "gui_long_stalls": [{**st, "end": round(st["end"] - monkey.t0, 2)} for st in
                            sorted(probe.long_stalls, key=lambda st: -st["ms"])[:20]],
        "gui_stalls_over_200ms": len(probe.long_stalls),
        "minutes_detail": minutes, "elapsed_s": round(elapsed, 1),
        "action_log_tail": list(monkey.report.log)[-40:] if (trap.errors or stuck or not answered) else [],
    })
    result["machine"]["loadavg_end"] = _loadavg()
    result["finished"] = True
    result["ok"] = not trap.errors and not stuck and answered and played and port_back
    result["command"] = (f"python bench/app_monkey.py --minutes {args.minutes:g} --seed {args.seed} "
                         f"--checkpoint {_shown_path(args.checkpoint)}"
                         + (" --clips $GROOVE" if args.clips else "")
                         + f" --warmup-minutes {args.warmup_minutes:g}"
                         + (" --tracemalloc" if args.tracemalloc else ""))
    del app
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the monkey plays (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the action sequence")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "default.pt")
    parser.add_argument("--clips", help="a folder of drum MIDI files the monkey also loads (e.g. the Groove "
                                        "MIDI Dataset)")
    parser.add_argument("--warmup-minutes", type=float, default=2.0,
                        help="memory growth is counted from the first sample at or after this (default 2)")
    parser.add_argument("--log-tail", type=int, default=400, help="actions kept in the log (default 400)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report where Python memory grew after the warm-up (slows the app)")
    parser.add_argument("--log", help="write every action here as it happens (default: a temporary folder)")
    parser.add_argument("--json", help="also write the JSON here (rewritten every minute while running)")
    parser.add_argument("--kit", choices=("on", "off"), default="on",
                        help="the built-in kit at start (on: as a new user has it; default)")
    args = parser.parse_args()
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    faulthandler.enable(all_threads=True)  # a crash prints every thread's Python stack
    result = run(args)
    emit_json(result, args.json)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
