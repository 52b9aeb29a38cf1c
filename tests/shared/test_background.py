import asyncio

from shared.background import start_periodic, stop_tasks


async def test_a_failing_round_does_not_end_the_loop_and_stop_awaits_the_task():
    rounds = []
    more_than_two = asyncio.Event()

    async def work():
        rounds.append(len(rounds))
        if len(rounds) > 2:
            more_than_two.set()
        raise RuntimeError("a bad round")

    task = start_periodic("test-periodic", 0.01, work)
    assert task.get_name() == "test-periodic"
    await asyncio.wait_for(more_than_two.wait(), 5)
    await stop_tasks([task])
    assert task.done() and task.cancelled()
    ended_at = len(rounds)
    await asyncio.sleep(0.05)
    assert len(rounds) == ended_at
