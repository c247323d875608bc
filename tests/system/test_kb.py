# SPDX-License-Identifier: Apache-2.0
"""The knowledge base (REGULATION.md "Data", Art 18): units keep the entries
of their own unit, every edit is a new version, the hotline office (a
manager) reviews each before readers see it, answer scripts may go out at
once; search over Chinese text by character bigrams; policies submitted
later than 3 working days before publication are flagged, their official
text comes on the publication day; corrections are due in 2 working days;
a consultation answered from an entry records the entry and its version.

The node's clock starts on Monday 2024-11-04 10:00 (Beijing time); the tests
of National Day 2024 move it."""

import pytest

from lifecycle import assert_error, clock, hotline  # noqa: F401 (fixtures)

LIFT = {
    "type": "service_item",
    "title": "电梯停运报修",
    "text": "小区电梯故障停运时，业主可拨打电梯使用单位的应急救援电话，"
            "或向区市场监督管理局特种设备科反映；有人被困请拨打110。",
    "valid_from": "2024-01-01",
}
RESIDENCE = {
    "type": "service_item",
    "title": "居住证办理",
    "text": "携带身份证、租赁合同到街道出租屋管理服务中心申请居住证，十五个工作日内领取。",
    "valid_from": "2024-01-01",
}
WATER_HOTLINE = {
    "type": "contact",
    "title": "供水抢修热线",
    "text": "停水、水管爆裂等供水故障，请拨打自来水公司24小时抢修热线96968。",
    "valid_from": "2024-01-01",
}
CENTRE_HOURS = {
    "type": "office_hours",
    "title": "出租屋管理服务中心办公时间",
    "text": "周一至周五上午9点至12点，下午2点至5点半，办理居住证、出租屋登记。",
    "valid_from": "2024-01-01",
}
EXPIRED_LIFT = {
    "type": "service_item",
    "title": "电梯停运报修（旧）",
    "text": "小区电梯停运请拨打旧的报修电话。",
    "valid_from": "2023-01-01",
    "valid_until": "2023-12-31",
}


def policy(publication_date, **overrides):
    return {"type": "policy", "title": "居民阶梯水价调整",
            "text": "自公布之日起，居民生活用水第一阶梯水价调整为每立方米2.08元。",
            "valid_from": "2024-10-08", "publication_date": publication_date, **overrides}


class KB:
    """The knowledge base of the hotline fixture's node."""

    def __init__(self, hotline):
        self.h = hotline

    def post(self, path, token, body):
        return self.h.post(path, token, body)

    def get(self, path, token, **params):
        return self.h.node.http("GET", path, token, params=params)

    def submit(self, token, body, status=201):
        """POST /api/v1/kb; returns the entry."""
        response = self.post("/api/v1/kb", token, body)
        assert response.status_code == status, response.text
        return response.json()

    def revise(self, token, entry_id, body):
        """POST a new version; returns the entry."""
        response = self.post(f"/api/v1/kb/{entry_id}/versions", token, body)
        assert response.status_code == 201, response.text
        return response.json()

    def review(self, entry_id, version, decision="approve", reason=None):
        body = {"decision": decision, "version": version}
        if reason is not None:
            body["reason"] = reason
        return self.post(f"/api/v1/kb/{entry_id}/review", self.h.manager, body)

    def approve(self, entry_id, version):
        response = self.review(entry_id, version)
        assert response.status_code == 200, response.text
        return response.json()

    def published(self, body, token=None):
        """An entry submitted by token (default: the water unit) and approved."""
        entry = self.submit(token or self.h.water, body)
        return self.approve(entry["id"], entry["version"])

    def show(self, entry_id, token):
        return self.get(f"/api/v1/kb/{entry_id}", token)

    def entry(self, entry_id, token=None):
        response = self.show(entry_id, token or self.h.operator)
        assert response.status_code == 200, response.text
        return response.json()

    def versions(self, entry_id, token):
        response = self.get(f"/api/v1/kb/{entry_id}/versions", token)
        assert response.status_code == 200, response.text
        return [(v["version"], v["state"]) for v in response.json()["versions"]]

    def search(self, q=None, token=None, **params):
        """The entries GET /api/v1/kb returns, in order."""
        if q is not None:
            params["q"] = q
        response = self.get("/api/v1/kb", token or self.h.operator, **params)
        assert response.status_code == 200, response.text
        return response.json()["entries"]

    def titles(self, q=None, token=None, **params):
        return [e["title"] for e in self.search(q, token, **params)]

    def correct(self, entry_id, note="联系电话已变更，请更新。"):
        response = self.post(f"/api/v1/kb/{entry_id}/corrections", self.h.manager, {"note": note})
        assert response.status_code == 201, response.text
        return response.json()

    def corrections(self, token=None, **params):
        response = self.get("/api/v1/kb/corrections", token or self.h.manager, **params)
        assert response.status_code == 200, response.text
        return response.json()["corrections"]


@pytest.fixture
def kb(hotline):
    return KB(hotline)


# --- review: pending until the office approves ----------------------------------

def test_unit_entry_is_pending_until_a_manager_approves_it(kb, hotline):
    entry = kb.submit(hotline.water, LIFT)

    assert entry["id"] == "KB-0001"
    assert (entry["state"], entry["version"], entry["unit"]) == ("pending", 1, "water")
    assert entry["unit_name"] == "广州市水务局"
    assert entry["pending_version"] == 1
    assert entry["submitted_by"] == "水务局办理员"
    # Readers do not see it yet, nor does another unit.
    assert_error(kb.show(entry["id"], hotline.operator), 404, "not_found")
    assert_error(kb.show(entry["id"], hotline.market), 404, "not_found")
    assert kb.search("电梯停运") == []
    assert [e["id"] for e in kb.search(token=hotline.manager, state="pending")] == [entry["id"]]

    published = kb.approve(entry["id"], 1)

    assert (published["state"], published["version"]) == ("published", 1)
    assert published["pending_version"] is None
    assert published["reviewed_by"] == "值班长李强"
    assert kb.entry(entry["id"])["title"] == "电梯停运报修"
    assert kb.titles("电梯停运") == ["电梯停运报修"]
    assert kb.search(token=hotline.manager, state="pending") == []


def test_manager_rejects_a_version_with_its_reason(kb, hotline):
    entry = kb.submit(hotline.water, LIFT)

    assert_error(kb.review(entry["id"], 1, "reject"), 400, "invalid_field", "reason")
    response = kb.review(entry["id"], 1, "reject", "联系电话有误，请核实。")

    assert response.status_code == 200, response.text
    rejected = response.json()
    assert (rejected["state"], rejected["reason"]) == ("rejected", "联系电话有误，请核实。")
    assert kb.entry(entry["id"], hotline.water)["state"] == "rejected"
    assert_error(kb.show(entry["id"], hotline.operator), 404, "not_found")
    # Decided: no second decision on it.
    assert_error(kb.review(entry["id"], 1), 409, "not_pending")
    assert_error(kb.review(entry["id"], 7), 404, "not_found")


def test_every_edit_is_a_new_version_and_old_versions_stay_readable(kb, hotline):
    entry = kb.published(LIFT)
    eid = entry["id"]

    revised = kb.revise(hotline.water, eid, {"text": "电梯停运请拨打96333电梯应急处置热线。"})

    # Readers still see version 1 until version 2 is approved.
    assert (revised["version"], revised["state"], revised["pending_version"]) == (1, "published", 2)
    assert revised["latest_version"] == 2
    assert "应急救援电话" in kb.entry(eid)["text"]
    kb.approve(eid, 2)
    current = kb.entry(eid)
    assert (current["version"], current["title"]) == (2, "电梯停运报修")
    assert current["text"] == "电梯停运请拨打96333电梯应急处置热线。"
    assert kb.versions(eid, hotline.operator) == [(1, "superseded"), (2, "published")]

    # A pending version is its unit's and the office's business; a newer
    # one withdraws it.
    kb.revise(hotline.water, eid, {"title": "电梯故障报修"})
    kb.revise(hotline.water, eid, {"title": "电梯故障停运报修"})
    assert kb.versions(eid, hotline.operator) == [(1, "superseded"), (2, "published")]
    assert kb.versions(eid, hotline.water) == [(1, "superseded"), (2, "published"),
                                               (3, "withdrawn"), (4, "pending")]
    assert_error(kb.review(eid, 3), 409, "not_pending")
    assert kb.approve(eid, 4)["title"] == "电梯故障停运报修"


def test_a_unit_keeps_only_its_own_entries(kb, hotline):
    entry = kb.published(LIFT)

    # Another unit reads it but may not change it, nor submit for water.
    assert kb.entry(entry["id"], hotline.market)["version"] == 1
    assert_error(kb.post(f"/api/v1/kb/{entry['id']}/versions", hotline.market, {"title": "改"}),
                 403, "not_owner")
    assert_error(kb.post("/api/v1/kb", hotline.market, {**LIFT, "unit": "water"}), 403,
                 "not_owner")
    assert_error(kb.get(f"/api/v1/kb/{entry['id']}/corrections", hotline.market), 403,
                 "not_owner")
    # Its own unit, and the office, may.
    assert kb.revise(hotline.water, entry["id"], {"title": "电梯故障报修"})["pending_version"] == 2
    assert kb.revise(hotline.manager, entry["id"], {"title": "电梯报修"})["pending_version"] == 3
    # A manager names the unit; a unit's own is taken when it names none.
    assert kb.submit(hotline.market, RESIDENCE)["unit"] == "market"
    assert kb.submit(hotline.manager, {**WATER_HOTLINE, "unit": "water"})["unit"] == "water"
    assert_error(kb.post("/api/v1/kb", hotline.manager, WATER_HOTLINE), 400, "invalid_field",
                 "unit")


def test_manager_withdraws_a_published_entry_and_readers_no_longer_see_it(kb, hotline):
    entry = kb.published(LIFT)
    eid = entry["id"]

    assert_error(kb.post(f"/api/v1/kb/{eid}/withdraw", hotline.manager, {}), 400,
                 "invalid_field", "reason")
    assert kb.titles("电梯停运") == ["电梯停运报修"]
    response = kb.post(f"/api/v1/kb/{eid}/withdraw", hotline.manager,
                       {"reason": "报修渠道已调整，条目停用。"})

    assert response.status_code == 200, response.text
    withdrawn = response.json()
    assert (withdrawn["state"], withdrawn["version"]) == ("withdrawn", 1)
    assert withdrawn["withdrawn"]["by"] == "值班长李强"
    assert withdrawn["withdrawn"]["reason"] == "报修渠道已调整，条目停用。"
    assert kb.titles("电梯停运") == []
    assert_error(kb.show(eid, hotline.operator), 404, "not_found")
    assert kb.versions(eid, hotline.water) == [(1, "withdrawn")]
    assert_error(kb.post(f"/api/v1/kb/{eid}/withdraw", hotline.manager, {"reason": "再次"}),
                 409, "not_published")
    # A new version published puts it back.
    kb.revise(hotline.water, eid, {"text": "电梯停运请拨打96333电梯应急处置热线。"})
    kb.approve(eid, 2)
    assert kb.entry(eid)["version"] == 2
    assert kb.entry(eid)["withdrawn"] is None


@pytest.mark.parametrize("role, method, path", [
    ("operator", "POST", "/api/v1/kb"),
    ("auditor", "GET", "/api/v1/kb"),
    ("service", "GET", "/api/v1/kb"),
    ("water", "POST", "/api/v1/kb/KB-0001/review"),
    ("water", "POST", "/api/v1/kb/KB-0001/corrections"),
    ("operator", "GET", "/api/v1/kb/corrections"),
    ("operator", "POST", "/api/v1/kb/KB-0001/versions"),
    ("water", "POST", "/api/v1/kb/KB-0001/withdraw"),
    ("operator", "POST", "/api/v1/kb/KB-0001/withdraw"),
])
def test_roles_that_may_not(kb, hotline, role, method, path):
    kb.published(LIFT)

    response = hotline.node.http(method, path, getattr(hotline, role), json={})

    assert_error(response, 403, "forbidden")


# --- search ---------------------------------------------------------------------

def test_search_finds_reworded_chinese_and_ranks_the_best_first(kb, hotline):
    for body in (RESIDENCE, WATER_HOTLINE, LIFT, CENTRE_HOURS, EXPIRED_LIFT):
        kb.published(body)
    kb.submit(hotline.water, {**LIFT, "title": "电梯停运（待审）"})

    # As callers put it, not as the entries are worded.
    assert kb.titles("我们小区的电梯停了三天了怎么办")[0] == "电梯停运报修"
    assert kb.titles("办居住证要带什么")[0] == "居住证办理"
    assert kb.titles("家里停水了找谁修")[0] == "供水抢修热线"
    # Ranked by score, best first, and each result is published and valid today.
    found = kb.search("居住证在哪里办理，几点上班")
    assert [e["title"] for e in found][:2] == ["居住证办理", "出租屋管理服务中心办公时间"]
    assert all(a["score"] >= b["score"] for a, b in zip(found, found[1:]))
    titles = kb.titles("电梯停运")
    assert "电梯停运报修（旧）" not in titles and "电梯停运（待审）" not in titles
    assert all(e["state"] == "published" for e in found)
    # Filters, and texts that share nothing.
    assert kb.titles("居住证", type="office_hours") == ["出租屋管理服务中心办公时间"]
    assert kb.titles("居住证", unit="market") == []
    assert kb.search("，。！") == []
    assert kb.search("火车票改签") == []
    listing = kb.get("/api/v1/kb", hotline.operator, limit=2).json()
    assert (len(listing["entries"]), listing["total"]) == (2, 4)


def test_search_reads_by_title_before_text(kb):
    kb.published({**CENTRE_HOURS})
    kb.published({**RESIDENCE})

    # "居住证" is in both; the entry whose title says it comes first.
    assert kb.titles("居住证") == ["居住证办理", "出租屋管理服务中心办公时间"]


# --- policies: 3 working days of notice, the official text on the day ---------

def test_late_policy_is_flagged_around_national_day(kb, hotline, clock):
    # Friday 09-27 for Tuesday 10-08: 09-29 (make-up Sunday), 09-30, 10-08.
    clock.set("2024-09-27 10:00:00")
    on_time = kb.submit(hotline.water, policy("2024-10-08"))
    # The make-up Sunday 09-29: only 09-30 and 10-08 remain before it.
    clock.set("2024-09-29 10:00:00")
    late = kb.submit(hotline.water, policy("2024-10-08", title="阶梯水价调整（补报）"))

    assert on_time["late"] is False
    assert late["late"] is True
    kb.approve(on_time["id"], 1)
    kb.approve(late["id"], 1)

    # The official text waits for the publication day.
    clock.set("2024-10-07 10:00:00")
    response = kb.post(f"/api/v1/kb/{on_time['id']}/versions", hotline.water,
                       {"official_text": "《关于调整居民阶梯水价的通知》全文……"})
    assert_error(response, 409, "official_text_too_early")
    clock.set("2024-10-08 09:00:00")
    with_text = kb.revise(hotline.water, on_time["id"],
                          {"official_text": "《关于调整居民阶梯水价的通知》全文……"})
    kb.approve(on_time["id"], 2)

    # A later version keeps the flag of the announced day.
    assert with_text["pending_version"] == 2
    current = kb.entry(on_time["id"])
    assert (current["version"], current["late"]) == (2, False)
    assert current["official_text"] == "《关于调整居民阶梯水价的通知》全文……"
    assert kb.revise(hotline.water, late["id"], {"official_text": "全文"})["late"] is True


def test_policy_needs_its_publication_date_and_only_policies_have_one(kb, hotline):
    body = policy("2024-11-12")
    del body["publication_date"]

    assert_error(kb.post("/api/v1/kb", hotline.water, body), 400, "invalid_field",
                 "publication_date")
    assert_error(kb.post("/api/v1/kb", hotline.water, {**LIFT, "publication_date": "2024-11-12"}),
                 400, "invalid_field", "publication_date")
    assert_error(kb.post("/api/v1/kb", hotline.water, {**LIFT, "official_text": "全文"}), 400,
                 "invalid_field", "official_text")
    # In an ordinary week, Monday for Friday is on time, Wednesday is not.
    assert kb.submit(hotline.water, policy("2024-11-08"))["late"] is False
    assert kb.submit(hotline.water, policy("2024-11-06"))["late"] is True


# --- answer scripts: at once, by the office -------------------------------------

def test_manager_publishes_an_answer_script_at_once(kb, hotline):
    script = {"type": "answer_script", "unit": "water", "title": "台风“摩羯”停水应答口径",
              "text": "受台风影响，部分片区暂停供水，预计今晚20时前恢复。", "valid_from": "2024-11-04",
              "publish": True}

    entry = kb.submit(hotline.manager, script)

    assert (entry["state"], entry["version"], entry["reviewed_by"]) == ("published", 1, "值班长李强")
    assert kb.titles("台风停水了什么时候来水")[0] == "台风“摩羯”停水应答口径"
    # Nobody else publishes at once, and no other type is published unreviewed.
    assert_error(kb.post("/api/v1/kb", hotline.water, {**script, "unit": None}), 403, "forbidden")
    assert_error(kb.post("/api/v1/kb", hotline.manager, {**LIFT, "unit": "water", "publish": True}),
                 409, "review_required")
    update = kb.revise(hotline.manager, entry["id"], {"text": "已于19时恢复供水。", "publish": True})
    assert (update["version"], update["state"]) == (2, "published")


# --- corrections: 2 working days -------------------------------------------------

def test_correction_is_overdue_after_two_working_days(kb, hotline, clock):
    entry = kb.published(WATER_HOTLINE)
    kb.published(RESIDENCE, hotline.market)

    correction = kb.correct(entry["id"])  # Monday 2024-11-04 10:00

    assert correction["deadline"] == "2024-11-06T23:59:59+08:00"
    assert (correction["state"], correction["entry"], correction["unit"]) == ("open", entry["id"],
                                                                             "water")
    assert kb.entry(entry["id"])["open_corrections"] == 1
    clock.set("2024-11-06 23:50:00")
    assert [c["state"] for c in kb.corrections()] == ["open"]
    clock.set("2024-11-07 00:00:05")
    assert [c["state"] for c in kb.corrections()] == ["overdue"]
    assert [c["id"] for c in kb.corrections(state="overdue")] == [correction["id"]]
    assert kb.corrections(state="open") == []
    # The unit sees its own; another unit none.
    assert [c["id"] for c in kb.corrections(hotline.water)] == [correction["id"]]
    assert kb.corrections(hotline.market) == []
    assert kb.corrections(hotline.market, unit="water") == []

    # A fixed version, once published, closes it (late, as it stays on record).
    kb.revise(hotline.water, entry["id"], {"text": "供水抢修热线改为96968转1。"})
    assert kb.corrections(state="overdue")[0]["id"] == correction["id"]
    kb.approve(entry["id"], 2)
    closed = kb.corrections(state="closed")
    assert [(c["id"], c["state"], c["fixed_version"]) for c in closed] == [
        (correction["id"], "closed", 2)]
    assert kb.corrections(state="overdue") == []
    assert kb.entry(entry["id"])["open_corrections"] == 0


def test_correction_deadline_skips_the_holiday(kb, hotline, clock):
    clock.set("2024-09-30 10:00:00")  # Monday before National Day
    entry = kb.published(WATER_HOTLINE)

    correction = kb.correct(entry["id"])

    assert correction["deadline"] == "2024-10-09T23:59:59+08:00"
    clock.set("2024-10-07 18:00:00")
    fixed = kb.revise(hotline.water, entry["id"], {"text": "抢修热线：96968。"})
    kb.approve(entry["id"], fixed["pending_version"])
    listed = kb.get(f"/api/v1/kb/{entry['id']}/corrections", hotline.water).json()["corrections"]
    assert [(c["state"], c["fixed_version"]) for c in listed] == [("closed", 2)]


def test_only_a_published_entry_is_corrected(kb, hotline):
    entry = kb.submit(hotline.water, LIFT)

    response = kb.post(f"/api/v1/kb/{entry['id']}/corrections", hotline.manager, {"note": "错"})

    assert_error(response, 409, "not_published")


# --- consultations answered from an entry ------------------------------------

def test_answer_from_an_entry_records_its_id_and_version(kb, hotline):
    entry = kb.published(RESIDENCE)
    kb.revise(hotline.water, entry["id"], {"text": "居住证可在粤省事小程序申请。"})
    kb.approve(entry["id"], 2)
    ticket = hotline.create(kind="consultation", content="想咨询一下居住证怎么办理，需要带什么材料")

    answered = hotline.do(hotline.operator, ticket["id"], "answer",
                          {"answer": "可在粤省事小程序申请居住证。", "kb_ref": entry["id"]})

    assert answered["status"] == "answered"
    event = hotline.events(ticket["id"])[-1]
    assert event["action"] == "answer"
    assert event["detail"] == {"kb_ref": entry["id"], "kb_version": 2}


def test_answer_without_an_entry_records_none(kb, hotline):
    ticket = hotline.create(kind="consultation")

    hotline.do(hotline.operator, ticket["id"], "answer", {"answer": "请咨询所在街道。"})

    assert hotline.events(ticket["id"])[-1]["detail"] == {"kb_ref": None, "kb_version": None}


@pytest.mark.parametrize("kb_ref", ["KB-0009", "KB-0002", "kb-1", "居住证"])
def test_answer_refuses_an_entry_that_is_not_published(kb, hotline, kb_ref):
    kb.published(RESIDENCE)
    kb.submit(hotline.water, LIFT)  # KB-0002, pending
    ticket = hotline.create(kind="consultation")
    before = hotline.events(ticket["id"])

    response = hotline.act(hotline.operator, ticket["id"], "answer",
                           {"answer": "请携带身份证办理。", "kb_ref": kb_ref})

    assert_error(response, 400, "invalid_field", "kb_ref")
    assert hotline.show(ticket["id"])["status"] == "registered"
    assert hotline.events(ticket["id"]) == before


# --- bad input: 400 naming the field --------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"title": None}, "title"),
    ({"title": ""}, "title"),
    ({"title": "长" * 201}, "title"),
    ({"text": 12}, "text"),
    ({"type": "faq"}, "type"),
    ({"valid_from": "2024-13-01"}, "valid_from"),
    ({"valid_from": "2024/01/01"}, "valid_from"),
    ({"valid_until": "2023-12-31"}, "valid_until"),
    ({"publish": "yes"}, "publish"),
    ({"colour": "red"}, "colour"),
    ({"unit": "nowhere"}, "unit"),
])
def test_bad_entry_is_refused_naming_the_field(kb, hotline, change, field):
    body = {**LIFT, "unit": "water", **change}
    if change.get("title", "") is None:
        del body["title"]

    assert_error(kb.post("/api/v1/kb", hotline.manager, body), 400, "invalid_field", field)
    assert kb.search(token=hotline.manager, state="pending") == []


@pytest.mark.parametrize("method, path, body, params, field", [
    ("POST", "/api/v1/kb/KB-0001/review", {"decision": "maybe", "version": 1}, None, "decision"),
    ("POST", "/api/v1/kb/KB-0001/review", {"decision": "approve", "version": 0}, None, "version"),
    ("POST", "/api/v1/kb/KB-0001/review", {"decision": "approve"}, None, "version"),
    ("POST", "/api/v1/kb/KB-0001/corrections", {"note": ""}, None, "note"),
    ("POST", "/api/v1/kb/KB-0001/versions", {"valid_until": "2000-01-01"}, None, "valid_until"),
    ("GET", "/api/v1/kb", None, {"type": "faq"}, "type"),
    ("GET", "/api/v1/kb", None, {"limit": "0"}, "limit"),
    ("GET", "/api/v1/kb", None, {"limit": "many"}, "limit"),
    ("GET", "/api/v1/kb", None, {"state": "draft"}, "state"),
    ("GET", "/api/v1/kb", None, {"q": "问" * 201}, "q"),
    ("GET", "/api/v1/kb", None, {"unit": "水务局"}, "unit"),
    ("GET", "/api/v1/kb/corrections", None, {"state": "late"}, "state"),
])
def test_bad_request_is_refused_naming_the_field(kb, hotline, method, path, body, params, field):
    kb.published(LIFT)

    response = hotline.node.http(method, path, hotline.manager, json=body, params=params)

    assert_error(response, 400, "invalid_field", field)


@pytest.mark.parametrize("path", ["/api/v1/kb/KB-0099", "/api/v1/kb/KB-0000", "/api/v1/kb/1",
                                  "/api/v1/kb/KB-0099/versions"])
def test_unknown_entry_is_404(kb, hotline, path):
    assert_error(kb.get(path, hotline.manager), 404, "not_found")
