# SPDX-License-Identifier: Apache-2.0
"""A federation whose nodes are separate hosts: each node runs in a Linux
network namespace of its own, with its own address on a bridge, and the
links between them can be cut, made lossy or slow.

    net = Network()                      # needs root and `ip netns`
    fed = netns_federation(workspace, net, GUANGZHOU, SHENZHEN)
    net.partition(fed.cities["440100"])  # the city is cut off from every node
    net.heal(fed.cities["440100"])
    net.lose(fed.province, 10)           # 10 % of its packets lost, each way
    net.slow(fed.cities["440300"], "256kbit")
    net.clear_all()
    net.close()                          # removes every namespace and the bridge

The layout, all in 10.123.0.0/24 on the bridge `hlnet-br`:

    test process (root namespace) 10.123.0.1 ── hlnet-br ─┬─ hlnet-440000 10.123.0.10
                                                           ├─ hlnet-440100 10.123.0.11
                                                           └─ ...

Each node's namespace and the host end of its veth pair are named
`hlnet-<code>`.  Nodes bind their HTTP API and the province its federation
endpoint on their own address; PostgreSQL is reached over its Unix socket,
which is a path and so the same in every namespace.

Faults hold between nodes only: the test process at 10.123.0.1 plays the
operators and citizens next to each node, who keep reaching it whatever
happens to the links between nodes.  They are injected with what the
kernel has: nftables rules in the node's namespace (partition: drop; loss:
`numgen random mod 100 < N drop`, each way) and an htb class on both ends
of its veth (slow).  The kernel of the machines this runs on has no netem
qdisc, so latency and reordering are not injected: `Network.report()`
says which faults are, and what the probe found.

Only one Network exists on a machine at a time: it holds an exclusive lock
for its life, and removes what a run that died left behind (everything
named `hlnet-`, processes still running in those namespaces included)
before it builds its own.
"""

import fcntl
import ipaddress
import os
import shutil
import subprocess
import time

import pytest

from hotline import Federation, PROVINCE

PREFIX = "hlnet-"
BRIDGE = PREFIX + "br"
SUBNET = ipaddress.ip_network("10.123.0.0/24")
HOST_ADDRESS = "10.123.0.1"  # the test process, in the root namespace
FIRST_NODE = 10              # nodes get 10.123.0.10, .11, ...
HTTP_PORT = 8080
FEDERATION_PORT = 7000
LOCK_PATH = "/run/hotline-netns.lock"
LOCK_WAIT_S = 900            # another run (a soak) may hold the lock this long
TABLE = "hotline_fault"

# What this module injects, and what it cannot, with why.
INJECTED = ("partition", "loss", "slow")
NOT_INJECTED = ("latency", "reorder")


def run(*argv, check=True):
    """Run a command; with check, a failure fails the test with its output."""
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} exited {result.returncode}: "
                    f"{result.stderr.strip()}", pytrace=False)
    return result


def unavailable():
    """Why network-namespace tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "network namespace tests need root"
    if shutil.which("ip") is None:
        return "network namespace tests need iproute2's `ip`"
    probe = PREFIX + "probe"
    result = run("ip", "netns", "add", probe, check=False)
    if result.returncode != 0:
        return f"`ip netns` is unavailable: {result.stderr.strip()}"
    run("ip", "netns", "del", probe, check=False)
    return None


def skip_unless_available():
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    if shutil.which("nft") is None:
        pytest.fail("nft not found: run deploy/install-deps (Debian package nftables)",
                    pytrace=False)


def remove_leftovers():
    """Remove every namespace, veth and bridge named hlnet-, and kill what
    still runs in those namespaces: the remains of a run that died.  Only
    called while holding the lock, so no live run owns them."""
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        run("ip", "netns", "del", name, check=False)
    for line in run("ip", "-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(PREFIX):
            run("ip", "link", "del", name, check=False)


class Host:
    """One node's namespace: its name, address and the faults it has now."""

    def __init__(self, code, address):
        self.code = code
        self.name = PREFIX + code  # the namespace and the host end of the veth
        self.address = address
        self.cut = set()    # peer addresses it cannot reach; "*" for every node
        self.loss = 0       # percent of packets lost each way, to and from nodes
        self.rate = None    # tc rate of its link, None for the full speed


class Network:
    """The bridge and the namespaces of one federation, and the faults
    between them.  Every fault method takes Nodes (hotline.Node) or codes."""

    def __init__(self):
        skip_unless_available()
        self._lock = open(LOCK_PATH, "w")
        self._take_lock()
        self.hosts = {}
        try:
            remove_leftovers()
            run("ip", "link", "add", BRIDGE, "type", "bridge")
            run("ip", "addr", "add", f"{HOST_ADDRESS}/{SUBNET.prefixlen}", "dev", BRIDGE)
            run("ip", "link", "set", BRIDGE, "up")
            probe = run("tc", "qdisc", "add", "dev", BRIDGE, "root", "netem", "delay", "1ms",
                        check=False)
            run("tc", "qdisc", "del", "dev", BRIDGE, "root", check=False)
        except BaseException:
            self.close()
            raise
        self.netem_probe = probe.stderr.strip() or "netem qdisc available"

    def _take_lock(self):
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another run held {LOCK_PATH} for {LOCK_WAIT_S} s")
                time.sleep(0.5)

    def report(self):
        """One line: the faults injected, those not, and why."""
        return (f"faults injected: {', '.join(INJECTED)}; not injected: "
                f"{', '.join(NOT_INJECTED)} (this module uses no netem; "
                f"the probe of this kernel: {self.netem_probe})")

    def add_host(self, code):
        """A namespace for node code, with lo up and its own address on the
        bridge.  Returns its Host."""
        address = str(SUBNET[FIRST_NODE + len(self.hosts)])
        host = Host(code, address)
        self.hosts[code] = host
        ns = host.name
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", ns, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", ns, "master", BRIDGE, "up")
        run("ip", "-n", ns, "addr", "add", f"{address}/{SUBNET.prefixlen}", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        # TCP as on the kernel of Debian 12 (6.1): a SYN unanswered is sent
        # again after 1, 2, 4, 8... s; newer kernels first retry four times
        # a second apart, which hides how long a node waits after a partition.
        if os.path.exists("/proc/sys/net/ipv4/tcp_syn_linear_timeouts"):
            run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_syn_linear_timeouts=0")
        self._apply_rules(host)
        return host

    def launcher(self, code):
        """The argv prefix that runs a program in node code's namespace
        (`ip netns exec` execs it: the process is the program)."""
        return ["ip", "netns", "exec", self.hosts[code].name]

    def close(self):
        """Remove every namespace, veth and the bridge; release the lock.
        Safe twice."""
        if self._lock is None:
            return
        remove_leftovers()
        self.hosts = {}
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None

    # Faults.

    def partition(self, node, peer=None):
        """Cut node off from peer, or from every other node: their packets
        are dropped both ways, silently, as by a broken line."""
        host = self._host(node)
        if peer is None:
            host.cut = {"*"}
        else:
            host.cut.add(self._host(peer).address)
        self._apply_rules(host)

    def heal(self, node, peer=None):
        """Undo partition(node, peer); with no peer, every cut of node."""
        host = self._host(node)
        if peer is None:
            host.cut = set()
        else:
            host.cut.discard(self._host(peer).address)
        self._apply_rules(host)

    def lose(self, node, percent):
        """Lose percent (0-100) of node's packets to and from other nodes,
        at random, each way."""
        assert 0 <= percent <= 100
        host = self._host(node)
        host.loss = int(percent)
        self._apply_rules(host)

    def slow(self, node, rate):
        """Limit node's link to other nodes to rate (tc units: "256kbit")
        each way; rate None gives it back its full speed."""
        host = self._host(node)
        for dev, direction in ((["-n", host.name, "dev", "eth0"], "dst"),
                               (["dev", host.name], "src")):
            self._tc(dev, "qdisc", "del", "root", check=False)
            if rate is None:
                continue
            self._tc(dev, "qdisc", "add", "root", "handle", "1:", "htb", "default", "2")
            self._tc(dev, "class", "add", "parent", "1:", "classid", "1:1",
                     "htb", "rate", "10gbit")
            self._tc(dev, "class", "add", "parent", "1:", "classid", "1:2",
                     "htb", "rate", rate, "ceil", rate)
            # The test process keeps the full speed: only links between nodes are slow.
            self._tc(dev, "filter", "add", "parent", "1:", "protocol", "ip", "prio", "1",
                     "u32", "match", "ip", direction, f"{HOST_ADDRESS}/32", "flowid", "1:1")
        host.rate = rate

    def clear(self, node):
        """Every fault of node undone."""
        self.heal(node)
        self.lose(node, 0)
        if self._host(node).rate is not None:
            self.slow(node, None)

    def clear_all(self):
        for code in list(self.hosts):
            self.clear(code)

    # Internals.

    def _host(self, node):
        return self.hosts[node if isinstance(node, str) else node.code]

    @staticmethod
    def _tc(dev, *args, check=True):
        # dev is ["-n", ns, "dev", "eth0"] or ["dev", veth]; tc takes -n first.
        if dev[0] == "-n":
            return run("tc", "-n", dev[1], args[0], args[1], "dev", dev[3], *args[2:],
                       check=check)
        return run("tc", args[0], args[1], "dev", dev[1], *args[2:], check=check)

    def _apply_rules(self, host):
        """Replace the node's nftables table, in one transaction, by the
        rules of its faults now."""
        def chain(hook, peer):
            # Incoming packets are judged by their source, outgoing by their
            # destination: each packet once.
            rules = [f"ip {peer} {HOST_ADDRESS} accept"]
            if "*" in host.cut:
                rules.append(f"ip {peer} {SUBNET} drop")
            rules += [f"ip {peer} {address} drop" for address in sorted(host.cut - {"*"})]
            if host.loss > 0:
                rules.append(f"ip {peer} {SUBNET} numgen random mod 100 < {host.loss} drop")
            body = "".join(f"    {rule}\n" for rule in rules)
            return (f"  chain {hook} {{\n"
                    f"    type filter hook {hook} priority 0; policy accept;\n{body}  }}\n")

        script = (f"table inet {TABLE}\ndelete table inet {TABLE}\n"
                  f"table inet {TABLE} {{\n{chain('input', 'saddr')}{chain('output', 'daddr')}}}\n")
        result = subprocess.run(["ip", "netns", "exec", host.name, "nft", "-f", "-"],
                                input=script, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"nft in {host.name}: {result.stderr.strip()}\n{script}", pytrace=False)


def netns_federation(workspace, net, *cities, start=True):
    """A Federation (hotline.py) of the province and cities, each node in
    its own namespace of net, reached at its own address.  Started unless
    start=False."""
    fed = Federation(workspace)
    province = net.add_host(PROVINCE[0])
    fed.province.settings.update(
        http_address=province.address, http_port=HTTP_PORT,
        federation_bind=f"tcp://{province.address}:{FEDERATION_PORT}")
    fed.province.write_config()
    fed.province.launcher = net.launcher(PROVINCE[0])
    for code, name in cities:
        city = fed.add_city(code, name)
        host = net.add_host(code)
        city.settings.update(http_address=host.address, http_port=HTTP_PORT)
        city.write_config()
        city.launcher = net.launcher(code)
        fed.register(city)
    if start:
        fed.start()
        for code, _ in cities:
            fed.wait_connected(code)
    return fed
