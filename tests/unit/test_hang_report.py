import asyncio

import pytest

from tests.hang_report import print_waiting_tasks


async def test_the_report_shows_where_each_task_waits(capsys: pytest.CaptureFixture[str]) -> None:
    async def waits_for_nothing_that_comes() -> None:
        await asyncio.Event().wait()

    waiting = asyncio.create_task(waits_for_nothing_that_comes(), name="the-stuck-one")
    await asyncio.sleep(0)
    # From another thread, as pytest-timeout's timer calls it.
    await asyncio.to_thread(print_waiting_tasks)
    waiting.cancel()
    printed = capsys.readouterr().err
    assert "the-stuck-one" in printed
    assert "in waits_for_nothing_that_comes" in printed
