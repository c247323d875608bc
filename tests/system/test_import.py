"""Importing the tickets of a legacy system: `city-node import FILE`.

A city moving to this software brings its history: one JSON line per
ticket, with the legacy system's id, the appeal as intake takes it, when it
was received and every event since, at its original time.  Intake's checks
and the work order's rules are applied to each line; what passes is written
so that the API, the statistics, the progress query, `verify` and the
master dataset see it as a ticket that lived here.  A bad line is named
with its number and reason and nothing of it is written; an import killed
half-way and run again imports every ticket exactly once.
"""

import json
import signal
import subprocess
from contextlib import closing

import psycopg2

from hotline import GUANGZHOU
from lifecycle import clock, hotline, Hotline  # noqa: F401
from test_sync import running_federation, wait_in_sync

OPERATOR = {"actor": "坐席陈静", "role": "operator"}
MANAGER = {"actor": "值班长周伟", "role": "manager"}
WATER = {"actor": "水务局办理员", "role": "unit"}
MARKET = {"actor": "市场监管局办理员", "role": "unit"}
CITIZEN = {"actor": "citizen", "role": "citizen"}
CLOCK = {"actor": "clock", "role": "system"}


def rows(node, statement, *args):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(statement, args)
        return cur.fetchall()


def event(at, who, action, **body):
    return {"at": at, **who, "action": action, **body}


def legacy(legacy_id, kind, received_at, history, status, content="小区路灯坏了一个月无人修理。",
           phone="13800138000", **overrides):
    line = {
        "legacy_id": legacy_id,
        "kind": kind,
        "channel": "phone",
        "category": "public_service",
        "content": content,
        "citizen": {"type": "person", "name": "李娜", "phone": phone},
        "location": {"division": "440106", "address": "天河区体育东路12号"},
        "received_at": received_at,
        "registered_by": "坐席陈静",
        "history": history,
        "status": status,
    }
    line.update(overrides)
    return line


def completion(at, who, handled_at):
    return event(at, who, "completion", handled_at=handled_at, process="现场核查并维修。",
                 result="已修复。", basis="《城市照明管理规定》")


# A complaint through every step: returned to another unit, extended,
# completed, rated and closed.
COMPLAINT = legacy("GZ2024-0001", "complaint", "2024-10-14T09:00:00+08:00", [
    event("2024-10-14T09:10:00+08:00", OPERATOR, "dispatch", unit="water"),
    event("2024-10-15T10:00:00+08:00", WATER, "return", reason="不属于本单位职责",
          basis="路灯由市场监管部门管理"),
    event("2024-10-15T11:00:00+08:00", MANAGER, "return/review", decision="approve",
          unit="market"),
    event("2024-10-16T09:00:00+08:00", MARKET, "extension", reason="需协调供电部门"),
    event("2024-10-16T15:00:00+08:00", MANAGER, "extension/review", decision="approve"),
    completion("2024-10-18T10:00:00+08:00", MARKET, "2024-10-18T09:00:00+08:00"),
    event("2024-10-18T11:00:00+08:00", MANAGER, "completion/review", decision="approve"),
    event("2024-10-19T09:30:00+08:00", CITIZEN, "rating", intake="satisfied",
          handling="very_satisfied"),
    event("2024-10-26T00:00:00+08:00", CLOCK, "close"),
], "closed", phone="13912345678")

CONSULTATION = legacy("GZ2024-0002", "consultation", "2024-10-15T10:00:00+08:00", [
    event("2024-10-15T10:05:00+08:00", OPERATOR, "answer", answer="携带身份证到街道服务中心办理。"),
], "answered", content="请问居住证在哪里办理？")

HELP_REJECTED = legacy("GZ2024-0003", "help", "2024-10-15T11:00:00+08:00", [
    event("2024-10-15T11:02:00+08:00", OPERATOR, "reject", reason="outside_jurisdiction",
          explanation="属深圳市管辖"),
], "rejected", content="深圳的亲戚家停电了请帮忙。")

SUGGESTION = legacy("GZ2024-0004", "suggestion", "2024-10-21T09:00:00+08:00", [
    event("2024-10-21T09:05:00+08:00", OPERATOR, "accept", category="ecological_environment"),
    event("2024-10-21T09:10:00+08:00", OPERATOR, "dispatch", unit="water"),
    event("2024-10-22T09:00:00+08:00", WATER, "notes", text="已联系诉求人。"),
], "handling", content="建议在珠江边增加垃圾分类投放点。")

REPORT_REDONE = legacy("GZ2024-0005", "report", "2024-10-14T14:00:00+08:00", [
    event("2024-10-14T14:05:00+08:00", OPERATOR, "dispatch", unit="market"),
    completion("2024-10-16T10:00:00+08:00", MARKET, "2024-10-16T09:00:00+08:00"),
    event("2024-10-16T11:00:00+08:00", MANAGER, "completion/review", decision="approve"),
    event("2024-10-17T09:00:00+08:00", CITIZEN, "rating", intake="satisfied",
          handling="dissatisfied"),
    event("2024-10-17T09:30:00+08:00", OPERATOR, "redo", reason="问题仍未解决"),
    event("2024-10-17T10:00:00+08:00", MANAGER, "redo/review", decision="approve"),
    completion("2024-10-22T10:00:00+08:00", MARKET, "2024-10-22T09:00:00+08:00"),
    event("2024-10-22T11:00:00+08:00", MANAGER, "completion/review", decision="approve"),
    event("2024-10-23T09:00:00+08:00", CITIZEN, "rating", intake="satisfied",
          handling="satisfied"),
    event("2024-10-30T00:00:00+08:00", CLOCK, "close"),
], "closed", content="某超市销售过期食品。")

EVERY_KIND = [COMPLAINT, CONSULTATION, HELP_REJECTED, SUGGESTION, REPORT_REDONE]


def write_lines(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line,
                             ensure_ascii=False)) + "\n" for line in lines), encoding="utf-8")
    return path


def import_file(node, path, check=True):
    return node.run("import", str(path), check=check, timeout=300)


def ids_by_legacy(node):
    return dict(rows(node, "SELECT legacy_id, id FROM tickets WHERE legacy_id IS NOT NULL"))


def test_imported_tickets_read_like_tickets_that_lived_here(hotline, workspace):
    node = hotline.node
    result = import_file(node, write_lines(workspace.folder / "legacy.jsonl", EVERY_KIND))

    assert "imported 5 tickets" in result.stdout
    ids = ids_by_legacy(node)
    assert set(ids) == {line["legacy_id"] for line in EVERY_KIND}
    # Numbered in the days they were received.
    assert ids["GZ2024-0001"].startswith("440100-20241014-")
    assert ids["GZ2024-0002"].startswith("440100-20241015-")

    complaint = hotline.show(ids["GZ2024-0001"])
    assert (complaint["status"], complaint["unit"], complaint["returns"],
            complaint["extensions"]) == ("closed", "market", 1, 1)
    assert complaint["created_at"].startswith("2024-10-14T09:00:00")
    assert complaint["citizen"]["phone"] == "13912345678"
    assert complaint["outcome"]["body"]["result"] == "已修复。"
    events = hotline.events(ids["GZ2024-0001"])
    assert [e["action"] for e in events] == [
        "register", "dispatch", "return", "return/review:approve", "extension",
        "extension/review:approve", "completion", "completion/review:approve", "rating", "close"]
    assert [e["at"][:19] for e in events][:3] == [
        "2024-10-14T09:00:00", "2024-10-14T09:10:00", "2024-10-15T10:00:00"]
    assert events[2]["actor"] == "水务局办理员" and events[2]["role"] == "unit"

    assert hotline.show(ids["GZ2024-0002"])["status"] == "answered"
    assert hotline.show(ids["GZ2024-0003"])["status"] == "rejected"
    suggestion = hotline.show(ids["GZ2024-0004"])
    assert (suggestion["status"], suggestion["category"]) == ("handling",
                                                               "ecological_environment")
    assert hotline.show(ids["GZ2024-0005"])["redos"] == 1

    # Lists filter them as any other.
    assert hotline.listed(kind="complaint") == [ids["GZ2024-0001"]]
    assert hotline.listed(status="handling", unit="water") == [ids["GZ2024-0004"]]

    # The citizen's progress query, with the last digits of the phone.
    response = node.http("GET", f"/api/v1/progress/{ids['GZ2024-0001']}",
                         params={"phone_last4": "5678"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed"
    wrong = node.http("GET", f"/api/v1/progress/{ids['GZ2024-0001']}",
                      params={"phone_last4": "0000"})
    assert wrong.status_code == 404

    # The statistics of the period count them once the clock rolled them up.
    def totals():
        response = node.http("GET", "/api/v1/stats", hotline.manager,
                             params={"from": "2024-10-14", "to": "2024-10-31"})
        assert response.status_code == 200, response.text
        return response.json()["total"]
    node.wait_for(lambda: totals()["received"] == 5, "the imported days to be rolled up")
    total = totals()
    assert (total["answered"], total["dispatched"], total["completed"]) == (1, 3, 3)
    assert total["returns"] == {"requested": 1, "approved": 1, "refused": 0}
    assert total["redo"] == {"requested": 1, "approved": 1}
    assert total["rejected"]["outside_jurisdiction"] == 1
    assert total["completed_on_time"] == 3
    # Each approval keeps the deadline in force then, though a redo moved it.
    assert rows(node, "SELECT count(DISTINCT deadline) FROM stats_completions"
                      " WHERE ticket_id = %s", ids["GZ2024-0005"]) == [(2,)]

    # The hash chains hold, and personal data is sealed at rest.
    assert node.run("verify").stdout.startswith("verified ")
    [(pii, phone_hash)] = rows(node, "SELECT citizen_pii, phone_hash FROM tickets"
                                     " WHERE legacy_id = 'GZ2024-0001'")
    assert "13912345678".encode() not in bytes(pii) and "李娜".encode() not in bytes(pii)
    assert "13912345678" not in phone_hash


def test_running_an_import_again_writes_nothing_twice(hotline, workspace):
    path = write_lines(workspace.folder / "legacy.jsonl", EVERY_KIND)
    import_file(hotline.node, path)

    again = import_file(hotline.node, path)
    # Another export of the same tickets, in another order: a file of its own.
    copy = import_file(hotline.node, write_lines(workspace.folder / "copy.jsonl",
                                                 reversed(EVERY_KIND)))

    assert "imported 0 tickets" in again.stdout
    assert "imported 0 tickets" in copy.stdout and "5 already there" in copy.stdout
    assert rows(hotline.node, "SELECT count(*) FROM tickets")[0][0] == 5


def test_bad_lines_are_named_and_nothing_of_them_is_written(hotline, workspace):
    illegal = legacy("BAD-1", "complaint", "2024-10-15T10:00:00+08:00", [
        event("2024-10-15T10:05:00+08:00", OPERATOR, "answer", answer="答复"),
    ], "answered")
    unknown_unit = legacy("BAD-3", "help", "2024-10-15T10:00:00+08:00", [
        event("2024-10-15T10:05:00+08:00", OPERATOR, "dispatch", unit="police"),
    ], "handling")
    wrong_status = legacy("BAD-4", "consultation", "2024-10-15T10:00:00+08:00", [], "answered")
    no_phone = legacy("BAD-5", "consultation", "2024-10-15T10:00:00+08:00", [], "registered",
                      citizen={"type": "person", "name": "王五"})
    backwards = legacy("BAD-6", "consultation", "2024-10-15T10:00:00+08:00", [
        event("2024-10-15T09:00:00+08:00", OPERATOR, "answer", answer="答复"),
    ], "answered")
    lines = [CONSULTATION, illegal, "{not json", unknown_unit, wrong_status, no_phone, backwards,
             HELP_REJECTED, CONSULTATION]

    result = import_file(hotline.node, write_lines(workspace.folder / "bad.jsonl", lines),
                         check=False)

    assert result.returncode == 1
    assert "line 2: 'history[0]' (answer): 'answer' refused by the rules" in result.stderr
    assert "line 3: not a JSON object" in result.stderr
    assert "line 4: 'history[0]' (dispatch): no unit 'police'" in result.stderr
    assert "line 5: 'status' is 'answered' but the history leaves the order 'registered'" \
        in result.stderr
    assert "line 6: 'citizen.phone' is required" in result.stderr
    assert "line 7: 'history[0].at' must be" in result.stderr
    assert "line 9: 'legacy_id' repeats line 1" in result.stderr
    assert "imported 2 tickets" in result.stdout and "7 refused" in result.stdout
    assert sorted(ids_by_legacy(hotline.node)) == ["GZ2024-0002", "GZ2024-0003"]
    assert rows(hotline.node, "SELECT count(*) FROM ticket_events")[0][0] == 4


def test_an_import_reads_standard_input(hotline):
    node = hotline.node
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in EVERY_KIND)

    result = subprocess.run([node.binary, "-f", node.config_path, "import", "-"], input=text,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert "imported 5 tickets" in result.stdout
    assert sorted(ids_by_legacy(node)) == sorted(line["legacy_id"] for line in EVERY_KIND)


def many(n):
    """n answered consultations, ten a minute from 2024-01-02."""
    for i in range(n):
        minute = i // 10
        day, rest = 2 + minute // 600, minute % 600
        at = f"2024-01-{day:02d}T{8 + rest // 60:02d}:{rest % 60:02d}:{i % 10 * 5:02d}+08:00"
        yield legacy(f"M{i:07d}", "consultation", at,
                     [event(at, OPERATOR, "answer", answer="已答复。")], "answered",
                     content=f"咨询第{i}号：社保卡补办流程。")


def test_an_import_killed_half_way_resumes_and_imports_each_ticket_once(hotline, workspace):
    node = hotline.node
    total = 10000  # five batches
    path = write_lines(workspace.folder / "many.jsonl", many(total))
    argv = [node.binary, "-f", node.config_path, "import", str(path)]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    node.wait_for(lambda: rows(node, "SELECT count(*) FROM import_checkpoints")[0][0] == 1
                  or first.poll() is not None, "the first batch to be committed")
    first.send_signal(signal.SIGKILL)
    first.communicate()
    [(line, imported)] = rows(node, "SELECT line, imported FROM import_checkpoints")
    assert first.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    assert 0 < line < total

    second = import_file(node, path)

    assert f"resuming after line {line}" in second.stderr
    assert f"imported {total - imported} tickets" in second.stdout
    assert rows(node, "SELECT count(*), count(DISTINCT legacy_id) FROM tickets")[0] == (
        total, total)
    assert rows(node, "SELECT count(*) FROM ticket_events")[0][0] == 2 * total
    assert "import:" in second.stderr  # the progress line


def test_a_ticket_repeated_in_the_next_batch_is_imported_once(hotline, workspace):
    # A batch is written while the next is read: the repeats may come
    # before the first lines' batch is committed, and are found all the
    # same, in the batch in hand or in the table.
    node = hotline.node
    lines = list(many(2000))  # one batch
    path = write_lines(workspace.folder / "repeat.jsonl", lines + [lines[0], lines[1]])

    result = import_file(node, path)

    assert "imported 2000 tickets" in result.stdout and "2 already there" in result.stdout
    numbers = sorted(int(ticket_id[-6:]) for (ticket_id,) in rows(node, "SELECT id FROM tickets"))
    assert numbers == list(range(1, 2001))  # the day's numbers, none given twice


def test_imported_tickets_reach_the_master_dataset(federation, workspace):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]
    Hotline(city)  # the units the history names
    path = write_lines(workspace.folder / "legacy.jsonl", EVERY_KIND)

    import_file(city, path)

    wait_in_sync(fed, city)
    imported = set(ids_by_legacy(city).values())
    held = {row[0] for row in rows(fed.province, "SELECT id FROM master_tickets")}
    assert imported <= held
