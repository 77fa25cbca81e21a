"""The spool under a bad day: a replay cut part-way journals nothing twice, an entry is never dropped because
the in-memory cache missed its business, and a server started while the database is down still stores (spools)
every real business's callback, from its saved list of tokens or, without one, as a bounded unverified entry."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

import webhooks.intake.drain as drain_module
import webhooks.intake.spool as spool_module
from bot.storage.db import make_engine
from bot.storage.tables import CallbackRow, OutboxRow, PaymentRow
from tests.support import add_business, c2b, count, payments, running_service
from tests.webhooks.test_nothing_lost import TcpProxy, _free_port, _wait_for
from webhooks.intake.spool import Spool, SpoolEntry
from webhooks.intake.targets import TARGETS_FILE

pytestmark = pytest.mark.anyio


def _body(trans_id: str, shortcode: str = "600984") -> bytes:
    return httpx.Request("POST", "/", json=c2b(trans_id, shortcode)).content


def _journal_rows(engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(CallbackRow)).scalar_one())


async def test_a_replay_cut_part_way_journals_every_entry_exactly_once(db_url, tmp_path, monkeypatch):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    spool = Spool(tmp_path / "spool")
    now = datetime.now(UTC)
    entries = [SpoolEntry("c2b_confirmation", shop.id, _body(f"RPL{i:07d}"), "127.0.0.1", now) for i in range(450)]
    entries += [SpoolEntry("c2b_confirmation", shop.id, b"not json", "127.0.0.1", now) for _ in range(50)]
    spool.append(entries)
    async with running_service(db_url, tmp_path) as svc:  # start-up replays the spool; cut it after one chunk
        rt = svc.app.state.services
    assert count(engine, PaymentRow) == 450 and _journal_rows(engine) == 500  # the start-up replay did it all

    spool.append([SpoolEntry("c2b_confirmation", shop.id, _body(f"RPM{i:07d}"), "127.0.0.1", now)
                  for i in range(450)] + [SpoolEntry("c2b_confirmation", shop.id, b"{}", "", now)] * 1)
    real = drain_module.record_callbacks
    calls = [0]

    def failing_after_one_chunk(conn, records, when):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError("the database went away mid-replay")
        return real(conn, records, when)

    monkeypatch.setattr(drain_module, "record_callbacks", failing_after_one_chunk)
    rt.drain.spool = spool
    with pytest.raises(OSError):
        rt.drain.drain()
    assert count(engine, PaymentRow) == 650  # the first chunk of 200 committed
    monkeypatch.setattr(drain_module, "record_callbacks", real)
    rt.targets.by_digest = {}  # and the in-memory cache lost every business: the replay reads them from the database
    assert rt.drain.drain() == 451
    assert count(engine, PaymentRow) == 900 and _journal_rows(engine) == 951  # not 200 more
    with Session(engine) as session:  # each invalid body flagged to the owner once
        flagged = session.execute(select(func.count()).select_from(OutboxRow)
                                  .where(OutboxRow.kind == "callback.flagged")).scalar_one()
    assert flagged == 51 and spool.depth() == 0
    engine.dispose()


async def test_a_spooled_entry_of_a_business_not_in_the_database_is_kept_not_dropped(db_url, tmp_path):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    spool = Spool(tmp_path / "spool")
    spool.append([SpoolEntry("c2b_confirmation", shop.id + 99, _body("ORP0000001"), "", datetime.now(UTC))])
    async with running_service(db_url, tmp_path):
        assert spool.depth() == 0
    kept = (tmp_path / "spool" / spool_module.ORPHANS_NAME).read_bytes().splitlines()
    assert [SpoolEntry.from_line(line).body for line in kept] == [_body("ORP0000001")]
    engine.dispose()


async def _outage_start(pg_url: str, tmp_path, *, saved: bool, monkeypatch) -> None:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    direct = make_engine(pg_url)
    shop = add_business(direct, "600984")
    proxy = TcpProxy(5432)
    proxied = pg_url.replace(":5432/", f":{proxy.port}/")
    if saved:  # a first run with the database up saves the businesses' token digests
        await proxy.start()
        async with running_service(proxied, tmp_path):
            pass
        await proxy.cut()
        saved_list = (tmp_path / "spool" / TARGETS_FILE).read_text()
        assert shop.token not in saved_list  # digests only
    monkeypatch.setattr(spool_module, "UNVERIFIED_LIMIT", 3)
    async with running_service(proxied, tmp_path) as svc:  # started while the database is down
        url = f"/c2b/{shop.token}/confirmation"
        answers = [await svc.client.post(url, json=c2b(f"OUT{i:07d}", "600984")) for i in range(5)]
        stranger = await svc.client.post(f"/c2b/{'ab' * 16}/confirmation", json=c2b("STR0000001", "600984"))
        if saved:
            assert [a.status_code for a in answers] == [200] * 5 and stranger.status_code in (200, 503)
        else:  # nothing known: three unverified entries wait, the rest are refused (Daraja sees a failure)
            assert [a.status_code for a in answers] == [200, 200, 200, 503, 503] and stranger.status_code == 503
        await proxy.start()
        expected = 5 if saved else 3
        await _wait_for(lambda: count(direct, PaymentRow) == expected, within=20)
        await _wait_for(lambda: svc.app.state.services.spool.depth() == 0)
        assert sorted(p.trans_id for p in payments(direct, shop.id)) == [f"OUT{i:07d}" for i in range(expected)]
        assert "STR0000001" not in {p.trans_id for p in payments(direct, shop.id)}
    await proxy.cut()
    direct.dispose()


async def test_a_server_started_during_an_outage_spools_a_known_business(pg_url, tmp_path, monkeypatch):
    await _outage_start(pg_url, tmp_path, saved=True, monkeypatch=monkeypatch)


async def test_a_server_started_during_an_outage_with_no_saved_list_spools_within_a_bound(pg_url, tmp_path,
                                                                                          monkeypatch):
    await _outage_start(pg_url, tmp_path, saved=False, monkeypatch=monkeypatch)


async def test_503_only_when_neither_database_nor_spool_can_store(tmp_path):
    """No database behind the URL and a spool directory that cannot be made: nothing is durable, so 503."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/nothing"
    async with running_service(url, tmp_path, spool_dir=str(blocker / "spool")) as svc:
        response = await svc.client.post(f"/c2b/{'ab' * 16}/confirmation", json=c2b("DDD0000001", "600984"))
        assert response.status_code == 503
