#!/usr/bin/env python3
"""Rewrites the results section of BENCHMARKS.md from the JSON lines of `tickplex bench fanout --json-out`.

Usage: bench_table.py RESULTS.jsonl BENCHMARKS.md "COMMAND"
The section lies between the BEGIN and END markers below; everything else in the file is kept.
"""
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys

BEGIN = "<!-- Scripts/bench: results begin -->"
END = "<!-- Scripts/bench: results end -->"
SERVERS = ["nchan", "tickplex-inprocess", "tickplex-redis"]
NAMES = {"nchan": "nginx + nchan", "tickplex-inprocess": "Tickplex in-process", "tickplex-redis": "Tickplex Redis"}
STEADY = ["W1", "W2", "W1-large", "W2-large"]


def num(v):
    if isinstance(v, str):
        return math.nan
    return math.nan if v is None else float(v)


def median(values):
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def fmt(v, digits=0, unit=""):
    if math.isnan(v):
        return "–"
    return f"{v:,.{digits}f}{unit}"


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, Linux {platform.release()}"


def commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except Exception:
        return "?"


def main():
    results_path, doc_path, command = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = [json.loads(line) for line in open(results_path) if line.strip()]
    by = {}
    for r in rows:
        by.setdefault((r["workload"], r["peer"]), []).append(r)
    workloads = []
    for r in rows:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])

    def runs(w, s):
        return [r for r in by.get((w, s), []) if not r.get("failed")]

    def failed(w, s):
        return sum(1 for r in by.get((w, s), []) if r.get("failed"))

    def med(w, s, key):
        return median([num(r.get(key)) for r in runs(w, s)])

    def ratios(w, s):
        """Per round: Tickplex's deliveries per CPU-second over nchan's in the same round."""
        nchan = {r["round"]: num(r["deliveriesPerCPUSecond"]) for r in runs(w, "nchan")}
        out = []
        for r in sorted(runs(w, s), key=lambda r: r["round"]):
            base = nchan.get(r["round"], math.nan)
            out.append(num(r["deliveriesPerCPUSecond"]) / base if base and not math.isnan(base) else math.nan)
        return out

    rounds = max((r.get("round", 1) for r in rows), default=0)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [BEGIN, "", "## Results: every workload, side by side (written by `Scripts/bench`)", ""]
    out.append(
        f"Machine: {machine()}. Date: {now}. Commit: `{commit()}`. Command: `{command}`. "
        f"{rounds} round(s); in each round every server runs the workload once, one after the other, each run "
        "measuring its windows after every client is connected and has data. A cell is the median over the rounds; "
        "a ratio is Tickplex's deliveries per server CPU-second over nchan's **in the same round**, listed per round. "
        "The load client (`TickplexLoad`, 20 % of clients parsing every frame) and the feeder (the simulator, or the "
        "HTTP publisher for nchan) share the machine with the server."
    )
    out.append("")
    notes = sorted({r["note"] for r in rows if r.get("note")})
    for n in notes:
        out.append(f"Note: {n}.")
    if notes:
        out.append("")

    steady = [w for w in workloads if w in STEADY or (w not in ("W3", "W4"))]
    steady = [w for w in steady if w not in ("W3", "W4")]
    if steady:
        out += [
            "| workload | server | deliveries/s (expected) | per server CPU-s | ratio to nchan, per round | "
            "latency from ts p50 / p99 / p99.9 | gaps / dups / closed | RSS per connection | load CPU ÷ server |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for w in steady:
            for s in SERVERS:
                rs = runs(w, s)
                if not rs and not failed(w, s):
                    continue
                if not rs:
                    out.append(f"| {w} | {NAMES[s]} | failed ({failed(w, s)} run(s)) | | | | | | |")
                    continue
                expected = rs[0].get("expectedPerSecond", 0)
                ratio = "–" if s == "nchan" else " / ".join(fmt(x, 2) for x in ratios(w, s))
                gaps = sum(r.get("gaps", 0) for r in rs)
                dups = sum(r.get("duplicates", 0) for r in rs)
                closed = sum(r.get("closed", 0) for r in rs)
                fails = f" ({failed(w, s)} failed)" if failed(w, s) else ""
                out.append(
                    f"| {w} ({rs[0]['clients']:,} clients) | {NAMES[s]}{fails} | {fmt(med(w, s, 'deliveriesPerSecond'))} "
                    f"({expected:,}) | {fmt(med(w, s, 'deliveriesPerCPUSecond'))} | {ratio} | "
                    f"{fmt(med(w, s, 'p50'), 1)} / {fmt(med(w, s, 'p99'), 1)} / {fmt(med(w, s, 'p999'), 1)} ms | "
                    f"{gaps} / {dups} / {closed} | {fmt(med(w, s, 'rssPerConnectionKiB'), 1)} KiB | "
                    f"{fmt(med(w, s, 'loadCPUShare'), 2)} |"
                )
        out.append("")
    if "W3" in workloads:
        out += ["W3, idle connections with one subscription each:", ""]
        out += ["| server | connections | RSS per connection | RSS with all connected | RSS idle |", "|---|---|---|---|---|"]
        for s in SERVERS:
            rs = runs("W3", s)
            if not rs:
                if failed("W3", s):
                    out.append(f"| {NAMES[s]} | failed | | | |")
                continue
            out.append(
                f"| {NAMES[s]} | {rs[0]['clients']:,} | {fmt(med('W3', s, 'rssPerConnectionKiB'), 1)} KiB | "
                f"{fmt(med('W3', s, 'rssKiB') / 1024, 1)} MiB | {fmt(med('W3', s, 'rssIdleKiB') / 1024, 1)} MiB |"
            )
        out.append("")
    if "W4" in workloads:
        out += [
            "W4, W1 with a burst of 1,000 messages in one second (p99 from `ts` per half-second slot: two before, two "
            "during, twelve after; the median round's):",
            "",
            "| server | p99 per slot (ms) | back under 100 ms after the burst, per round | clients closed | "
            "updates conflated (seq skipped) |",
            "|---|---|---|---|---|",
        ]
        for s in SERVERS:
            rs = [r for r in runs("W4", s) if r.get("burst")]
            if not rs:
                if failed("W4", s):
                    out.append(f"| {NAMES[s]} | failed | | | |")
                continue
            rs.sort(key=lambda r: r["burst"]["recoverySeconds"] if r["burst"]["recoverySeconds"] >= 0 else 1e9)
            mid = rs[len(rs) // 2]["burst"]
            slots = " / ".join(fmt(num(x)) for x in mid["slotP99"])
            rec = " / ".join(
                f"{r['burst']['recoverySeconds']:.1f} s" if r["burst"]["recoverySeconds"] >= 0 else "not within 6 s"
                for r in sorted(rs, key=lambda r: r["round"])
            )
            closed = sum(r["burst"]["closed"] for r in rs)
            conflated = sum(r["burst"]["conflated"] for r in rs)
            out.append(f"| {NAMES[s]} | {slots} | {rec} | {closed} | {conflated} |")
        out.append("")

    # The targets, judged from the figures above.
    out += ["Targets of issue 12, judged from these figures:", "", "| id | target | reached | met |", "|---|---|---|---|"]

    def yes(b):
        return "**yes**" if b else "no"

    e_parts, e_ok = [], True
    for w in ("W1", "W2"):
        for s in ("tickplex-inprocess", "tickplex-redis"):
            rs = ratios(w, s)
            if not rs:
                e_ok = False
                continue
            p99, base = med(w, s, "p99"), med(w, "nchan", "p99")
            ok = all(x >= 1 for x in rs) and p99 <= base
            e_ok = e_ok and ok
            e_parts.append(f"{w} {NAMES[s].split()[-1]}: {fmt(median(rs), 2)}× per CPU-s, p99 {fmt(p99, 1)} vs {fmt(base, 1)} ms")
    out.append(f"| E | W1, W2, both buses: per CPU-s ≥ nchan's in the same round, p99 ≤ nchan's | {'; '.join(e_parts) or '–'} | {yes(e_ok and e_parts)} |")
    m_parts, m_ok = [], True
    for w in ("W2", "W3"):
        base = med(w, "nchan", "rssPerConnectionKiB")
        for s in ("tickplex-inprocess", "tickplex-redis"):
            v = med(w, s, "rssPerConnectionKiB")
            if math.isnan(v):
                m_ok = False
                continue
            m_ok = m_ok and v <= 10 * 1000 / 1024 + 1e-9
            clients = runs(w, s)[0]["clients"]
            m_parts.append(f"{w} ({clients:,}) {NAMES[s].split()[-1]}: {fmt(v, 1)} KiB (nchan {fmt(base, 1)})")
    out.append(f"| M | RSS per connection ≤ 10 KB at 2,000 (W2) and at 50,000 (W3) | {'; '.join(m_parts) or '–'} | {yes(m_ok and m_parts)} |")
    l_parts, l_ok = [], True
    for w in ("W1-large", "W2-large"):
        for s in ("tickplex-inprocess", "tickplex-redis"):
            rs = runs(w, s)
            if not rs:
                l_ok = False
                continue
            delivered = med(w, s, "deliveriesPerSecond") / max(rs[0]["expectedPerSecond"], 1)
            p99 = med(w, s, "p99")
            gaps = sum(r.get("gaps", 0) for r in rs)
            ok = delivered >= 0.995 and gaps == 0 and p99 <= 100
            l_ok = l_ok and ok
            l_parts.append(f"{w} {NAMES[s].split()[-1]}: {delivered * 100:.1f} % delivered, {gaps} conflated, p99 {fmt(p99, 1)} ms")
    out.append(f"| L | W1-large, W2-large: everything delivered, p99 ≤ 100 ms | {'; '.join(l_parts) or '–'} | {yes(l_ok and l_parts)} |")
    b_parts, b_ok = [], True
    for s in ("tickplex-inprocess", "tickplex-redis"):
        rs = [r for r in runs("W4", s) if r.get("burst")]
        if not rs:
            b_ok = False
            continue
        recs = [r["burst"]["recoverySeconds"] for r in rs]
        worst = math.inf if any(x < 0 for x in recs) else max(recs)
        closed = sum(r["burst"]["closed"] for r in rs)
        b_ok = b_ok and worst <= 2 and closed == 0
        within = "not within 6 s" if math.isinf(worst) else f"within {worst:.1f} s"
        b_parts.append(f"{NAMES[s].split()[-1]}: {closed} closed, p99 back under 100 ms {within} (worst round)")
    out.append(f"| B | W4: no client closed, p99 under 100 ms within 2 s of the burst | {'; '.join(b_parts) or '–'} | {yes(b_ok and b_parts)} |")
    out += ["", END]

    doc = open(doc_path).read()
    block = "\n".join(out)
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        doc = head + block + tail
    else:
        # After the introduction (the first paragraph after the title).
        head, sep, tail = doc.partition("\n\n## ")
        doc = head + "\n\n" + block + "\n" + sep + tail
    open(doc_path, "w").write(doc)


if __name__ == "__main__":
    main()
