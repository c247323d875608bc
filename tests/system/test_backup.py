"""A city's database restored from a backup taken before it made more
changes, following README "Backup and restore of a node" step by step.

The province holds what the city did after the backup: later numbers of
its ticket stream, the tickets it made, the changes of older ones, the
transfers it made and took.  A city that came back from the backup must
neither reuse those numbers (the province would skip new changes as seen:
silent loss) nor the ticket numbers it gave (two tickets, one id).  The
province refuses it until it has recovered what the master dataset holds
of it (`province-node node-export`, `city-node recover`); then the master
dataset equals the union of the nodes' own data, no ticket has two owners,
every chain verifies and nothing is there twice.
"""

import subprocess
from contextlib import closing

import psycopg2
import psycopg2.extensions

from hotline import GUANGZHOU, PG_BIN, SHENZHEN
from lifecycle import Hotline
from test_sync import running_federation
from test_transfers import transfer, wait_status


def rows(node, sql, args=()):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def own_events(city):
    """The events the city wrote itself (not those copied with a transfer)."""
    return set(rows(city, "SELECT ticket_id, seq, hash FROM ticket_events WHERE NOT copied"))


def owned_tickets(city):
    return set(rows(city, "SELECT id, status, version FROM tickets WHERE owner_node = %s",
                    (city.code,)))


def master_events(fed, code):
    return set(rows(fed.province, "SELECT ticket_id, seq, hash FROM master_events"
                                  " WHERE node = %s", (code,)))


def master_tickets(fed, code):
    return set(rows(fed.province, "SELECT id, status, version FROM master_tickets"
                                  " WHERE node = %s", (code,)))


def in_sync(fed, city):
    return master_events(fed, city.code) == own_events(city) \
        and master_tickets(fed, city.code) == owned_tickets(city)


def wait_in_sync(fed, *cities):
    for city in cities:
        fed.province.wait_for(lambda city=city: in_sync(fed, city),
                              f"the master dataset to equal city {city.code}'s own data")


def assert_invariants(fed, *cities):
    wait_in_sync(fed, *cities)
    # The master dataset is the union of the nodes' data, nothing twice.
    assert rows(fed.province, "SELECT ticket_id, seq, count(*) FROM master_events"
                              " GROUP BY 1, 2 HAVING count(*) > 1") == []
    assert sum(len(master_events(fed, c.code)) for c in cities) == \
        rows(fed.province, "SELECT count(*) FROM master_events")[0][0]
    # One owner per ticket, the one the master dataset names.
    owners = {}
    for city in cities:
        for (tid,) in rows(city, "SELECT id FROM tickets WHERE owner_node = %s", (city.code,)):
            assert tid not in owners, f"{tid} owned by {owners[tid]} and {city.code}"
            owners[tid] = city.code
    assert owners == dict(rows(fed.province, "SELECT id, node FROM master_tickets"))
    for city in cities:
        result = city.run("verify")
        assert result.stdout.startswith("verified"), result.stdout


def backup(city, path):
    """README step 1: the nightly dump of the node's database."""
    subprocess.run([PG_BIN / "pg_dump", "-Fc", "-f", path, "-d", city.settings["database"]],
                   check=True)


def restore(city, path):
    """README steps 2-3: the node stopped (here: its host died), its
    database made anew and the dump restored into it."""
    if city.is_running():
        city.kill()
    dsn = psycopg2.extensions.parse_dsn(city.settings["database"])
    server = ["-h", dsn["host"], "-U", dsn["user"]]
    # --force: the backends of the killed daemon may still be on their way out.
    subprocess.run([PG_BIN / "dropdb", "--force", *server, dsn["dbname"]], check=True)
    subprocess.run([PG_BIN / "createdb", *server, dsn["dbname"]], check=True)
    subprocess.run([PG_BIN / "pg_restore", "--exit-on-error", "--single-transaction",
                    "--no-owner", "-d", city.settings["database"], path], check=True)


def recover(fed, city, path):
    """README steps 4-5: what the master dataset holds of the city, exported
    at the province and recovered at the city before it starts."""
    exported = fed.province.run("node-export", city.code, str(path)).stdout
    assert f"node '{city.code}'" in exported, exported
    return city.run("recover", str(path)).stdout


def federation_with_history(federation, workspace):
    """Two cities at work; 广州's database dumped, then more work done:
    changes of older tickets, new tickets, a transfer each way."""
    fed = running_federation(federation, GUANGZHOU, SHENZHEN)
    gz, sz = fed.cities["440100"], fed.cities["440300"]
    office, shenzhen = Hotline(gz), Hotline(sz)
    older = [office.in_handling() for _ in range(3)]
    wait_in_sync(fed, gz)
    dump = workspace.folder / "440100.dump"
    backup(gz, dump)

    later = {"completed": older[0]["id"], "new": [office.in_handling()["id"] for _ in range(2)]}
    office.do(office.water, later["completed"], "completion")
    office.do(office.manager, later["completed"], "completion/review")
    away = office.create()["id"]
    transfer(office, away, "440300")
    here = shenzhen.create()["id"]
    transfer(shenzhen, here, "440100", reason="事发地在广州市天河区，属广州管辖")
    wait_status(shenzhen, away, "registered")
    wait_status(office, here, "registered")
    wait_status(office, away, "transferred")
    office.do(office.operator, here, "dispatch", {"unit": "water"})
    later.update(away=away, here=here)
    assert_invariants(fed, gz, sz)
    return fed, office, dump, later


def test_a_city_restored_from_an_older_backup_recovers_what_it_lost(federation, workspace):
    fed, office, dump, later = federation_with_history(federation, workspace)
    gz, sz = fed.cities["440100"], fed.cities["440300"]
    lost = master_events(fed, "440100")

    restore(gz, dump)
    assert own_events(gz) < lost  # the dump is older: the city lost some of its own work
    out = recover(fed, gz, workspace.folder / "440100.recover")
    # Two made there, one made and transferred away, one transferred there.
    assert "7 tickets, 4 of them new here" in out and "1 changed" in out, out
    # Once is enough: again, it finds nothing more to take back.
    again = gz.run("recover", str(workspace.folder / "440100.recover")).stdout
    assert "0 of them new here" in again and "0 changed" in again, again
    mark, since = fed.province.log_mark(), gz.log_mark()
    gz.start()
    fed.wait_connected("440100")

    # The city holds again what it did after the backup.
    assert own_events(gz) == lost
    assert office.show(later["completed"])["status"] == "completed"
    for tid in later["new"]:
        shown = office.show(tid)
        assert shown["status"] == "handling"
        # The province never held the citizen's personal data.
        assert shown["citizen"]["phone"] is None
    assert office.show(later["here"])["status"] == "handling"
    assert office.show(later["away"])["status"] == "transferred"
    assert_invariants(fed, gz, sz)

    # New work: new numbers, on the ticket stream and for tickets alike,
    # and all of it reaches the master dataset.
    known = {tid for (tid,) in rows(fed.province, "SELECT id FROM master_tickets")}
    fresh = office.in_handling()["id"]
    assert fresh not in known
    office.do(office.water, later["here"], "completion")
    office.do(office.water, later["new"][0], "completion")
    assert_invariants(fed, gz, sz)
    assert rows(fed.province, "SELECT status FROM master_tickets WHERE id = %s",
                (later["here"],)) == [("completion_requested",)]
    # Both streams went on where the other side was: no hole on either.
    assert fed.province.log_lines("no longer holds", since=mark) == []
    assert gz.log_lines("no longer holds", since=since) == []
    # The completion asked for after the restore is reviewed as any other.
    office.do(office.manager, later["here"], "completion/review")
    office.do(office.manager, later["new"][0], "completion/review")
    assert_invariants(fed, gz, sz)


def test_a_restored_city_that_did_not_recover_is_refused_and_loses_nothing(federation,
                                                                             workspace):
    fed, office, dump, later = federation_with_history(federation, workspace)
    gz, sz = fed.cities["440100"], fed.cities["440300"]
    before = master_events(fed, "440100")

    restore(gz, dump)
    mark = fed.province.log_mark()
    gz.start()
    line = fed.province.wait_log("restored from a backup", since=mark)
    assert "440100" in line and "node-export" in line
    gz.wait_log("restored from a backup")
    assert fed.connected_entry("440100") is None
    assert master_events(fed, "440100") == before

    gz.stop()
    recover(fed, gz, workspace.folder / "440100.recover")
    gz.start()
    fed.wait_connected("440100")
    assert_invariants(fed, gz, sz)


def test_recover_refuses_changes_made_before_it_that_clash(federation, workspace):
    fed, office, dump, later = federation_with_history(federation, workspace)
    gz = fed.cities["440100"]

    restore(gz, dump)
    gz.start()
    # Taken while the province refuses the city: the same ticket number as
    # one the city gave after the backup, for another appeal.
    clash = office.create()["id"]
    assert clash == later["new"][0]
    gz.stop()
    taken = own_events(gz)
    fed.province.run("node-export", gz.code, str(workspace.folder / "440100.recover"))
    result = gz.run("recover", str(workspace.folder / "440100.recover"), check=False)

    assert result.returncode != 0
    assert clash in result.stderr and "restore the backup again" in result.stderr
    assert own_events(gz) == taken
