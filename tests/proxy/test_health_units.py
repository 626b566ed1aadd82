"""The health rules, clock in hand: ejection, backoff, coming back, the newest verdict."""

from __future__ import annotations

from plugit_proxy.health import Health, Status, Verdict

URL = "http://a/"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def health(clock: FakeClock, eject_after: int = 3) -> Health:
    known = Health(eject_after=eject_after, backoff=5, max_backoff=12, clock=clock)
    known.know([URL])
    return known


def test_failed_calls_in_a_row_eject_and_an_answer_resets_the_count() -> None:
    state = health(FakeClock())
    state.call_failed(URL, "refused")
    state.call_failed(URL, "refused")
    state.answered(URL)
    state.call_failed(URL, "refused")
    state.call_failed(URL, "refused")
    assert state.usable(URL)
    state.call_failed(URL, "refused")
    assert not state.usable(URL)
    assert state.changed == {URL}


def test_probes_and_calls_count_apart() -> None:
    state = health(FakeClock())
    for _ in range(2):
        state.call_failed(URL, "refused")
        state.probe_failed(URL, "no answer")
    assert state.usable(URL)
    state.probe_failed(URL, "no answer")
    assert not state.usable(URL)


def test_backoff_doubles_up_to_its_maximum_and_a_probe_brings_it_back() -> None:
    clock = FakeClock()
    state = health(clock, eject_after=1)
    state.live_trials = False  # a prober runs: only probes bring it back
    state.probe_failed(URL, "no answer")
    backoffs = []
    for _ in range(3):
        instance = state.get(URL)
        assert instance is not None
        backoffs.append(instance.backoff)
        clock.now = instance.retry_at
        assert not state.usable(URL)
        assert state.retry_due(instance)
        state.probe_failed(URL, "no answer")  # one failure is enough once out
    assert backoffs == [5, 10, 12]
    state.probe_answered(URL)
    assert state.usable(URL)
    instance = state.get(URL)
    assert instance is not None
    assert instance.status is Status.UP


def test_without_a_prober_a_live_call_tries_it_after_the_backoff() -> None:
    clock = FakeClock()
    state = health(clock, eject_after=1)
    state.call_failed(URL, "refused")
    assert not state.usable(URL)
    clock.now += 5
    assert state.usable(URL)
    state.answered(URL)
    instance = state.get(URL)
    assert instance is not None
    assert instance.status is Status.UP


def test_a_refused_version_stays_out_until_a_probe_finds_ours() -> None:
    clock = FakeClock()
    state = health(clock)
    state.refuse(URL, "protocol version 2")
    clock.now += 1000
    assert not state.usable(URL)  # never tried by live calls
    state.probe_answered(URL)
    assert state.usable(URL)


def test_the_newest_verdict_wins() -> None:
    clock = FakeClock()
    state = health(clock)
    state.adopt(URL, Verdict(Status.EJECTED, at=clock.now + 1, retry_at=clock.now + 60))
    assert not state.usable(URL)
    state.adopt(URL, Verdict(Status.UP, at=clock.now))  # older than what we hold: ignored
    assert not state.usable(URL)
    clock.now += 2
    state.probe_answered(URL)  # our own verdict, newer
    assert state.usable(URL)
    instance = state.get(URL)
    assert instance is not None
    assert instance.verdict_at > clock.now - 1


def test_ejection_can_be_turned_off() -> None:
    state = health(FakeClock(), eject_after=0)
    for _ in range(10):
        state.call_failed(URL, "refused")
        state.probe_failed(URL, "no answer")
    assert state.usable(URL)
