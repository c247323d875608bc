#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What the federation costs at rest: the resident memory of an idle city
node and of the province with Guangdong's 21 cities connected, and the
province's CPU when only heartbeats flow.

Creates a throwaway PostgreSQL cluster, a province and the 21 cities, each
with its own database, keys and config (`init`, `node-add`), heartbeats
and clock as in production (5 s, one minute), on loopback, and starts
them.  Once the province shows all 21 connected it lets them settle, then
reads /proc for --seconds: each process's resident memory (VmRSS, and
RssAnon, the part that is its own rather than shared libraries' pages)
and the CPU time the province used in the window.  The idle city has no
baseline to run beside it; its figure is put against the 20 MB aim.

    /usr/bin/python3 tests/bench/footprint_bench.py               # a minute at rest
    /usr/bin/python3 tests/bench/footprint_bench.py --seconds 10

Prints the figures and writes build/bench/footprint.json.
"""

import argparse
import os
import statistics
import time

from benchlib import CITIES, OUTPUT, headline, log, scratch, wait, write_summary
from hotline import Federation, Workspace

AIM_CITY_MB = 20.0
SETTLE = 10.0  # seconds at rest before the window opens
TICK = os.sysconf("SC_CLK_TCK")


def memory(pid):
    """VmRSS and RssAnon of process 'pid', in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["RssAnon"]


def cpu_seconds(pid):
    """User and system time process 'pid' has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the window at rest")
    parser.add_argument("--output", default=str(OUTPUT / "footprint.json"))
    args = parser.parse_args()
    if not 1 <= args.seconds <= 3600:
        parser.error("--seconds 1..3600")

    with scratch([("max_connections", "400")]) as (cluster, folder):
        workspace = Workspace(folder, cluster)
        try:
            fed = Federation(workspace)
            for code, name in CITIES:
                fed.register(fed.add_city(code, name))
            for node in (fed.province, *fed.cities.values()):
                node.settings["heartbeat_interval_ms"] = 5000
                node.settings["clock_interval_ms"] = 60000
                node.write_config()
            log(f"starting the province and {len(CITIES)} cities")
            fed.start()
            wait(lambda: sum(e["connected"] is True for e in fed.nodes().values()) == len(CITIES),
                 f"all {len(CITIES)} cities to show connected", 300)
            time.sleep(SETTLE)
            province = fed.province.process.pid
            cities = [city.process.pid for city in fed.cities.values()]
            cpu_before, start = cpu_seconds(province), time.monotonic()
            samples = {"province": [], "city": []}
            while time.monotonic() - start < args.seconds:
                samples["province"].append(memory(province))
                samples["city"].extend(memory(pid) for pid in cities)
                time.sleep(min(1.0, args.seconds / 10))
            window = time.monotonic() - start
            cpu = (cpu_seconds(province) - cpu_before) / window
            connected = sum(e["connected"] is True for e in fed.nodes().values())
        finally:
            workspace.stop_all()

    figures = {who: {"rss_mb_median": round(statistics.median(s[0] for s in values), 1),
                     "rss_mb_max": round(max(s[0] for s in values), 1),
                     "rss_anon_mb_median": round(statistics.median(s[1] for s in values), 1)}
               for who, values in samples.items()}
    city_rss = figures["city"]["rss_mb_median"]
    summary = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cities": len(CITIES), "connected_at_end": connected,
        "window_seconds": round(window, 1), "heartbeat_interval_ms": 5000,
        "province_cpu_percent_of_a_core": round(cpu * 100, 2),
        **figures,
        "headlines": [headline("7 footprint", "idle city node, resident memory", city_rss,
                               AIM_CITY_MB, "MB", "the 20 MB aim", goal=1.0,
                               higher_is_better=False)],
    }
    print(f"idle city: {city_rss:.1f} MB resident ({figures['city']['rss_anon_mb_median']:.1f} MB"
          f" its own), aim {AIM_CITY_MB:g} MB")
    print(f"province with {connected} cities: {figures['province']['rss_mb_median']:.1f} MB"
          f" resident ({figures['province']['rss_anon_mb_median']:.1f} MB its own),"
          f" {cpu * 100:.2f}% of a core at rest over {window:.0f} s")
    write_summary(summary, args.output)


if __name__ == "__main__":
    main()
