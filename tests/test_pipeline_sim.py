"""The whole pipeline against the simulator over real HTTP, with injected faults.

Every test ends with no task lost, no duplicate submission, every hold settled
exactly once, and an honest final state."""

from __future__ import annotations

from typing import Any

import av
import pytest

from generations import credits, media_store
from generations.apixo.simulator.running import RunningSimulator
from generations.models import GenerationTask, State, VideoAsset
from tests.factories import queue_task
from tests.sim import assert_books_balance, drive, drive_until_downloads_failed

pytestmark = pytest.mark.django_db(transaction=True)


def generate_calls(sim: RunningSimulator) -> int:
    stats = sim.stats()
    return int(stats["generate_calls"])


@pytest.mark.usefixtures("media_storage")
def test_it_delivers_a_real_video_and_captures_credits(
    sim: RunningSimulator, alice: Any
) -> None:
    task = queue_task(
        alice, resolution="480p", duration=4, sound=True, aspect_ratio="9:16"
    )
    drive()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, task.last_error
    video = VideoAsset.objects.get(task=task)
    assert (video.width, video.height) == (480, 864)
    assert video.has_audio is True
    assert abs(video.duration_seconds - 4) < 0.3
    with (
        media_store.local_copy(video.file.name) as path,
        av.open(str(path)) as container,
    ):
        assert container.streams.video[0].codec_context.name == "h264"
    assert media_store.stat(video.poster.name).size > 0
    assert media_store.sha256_of(video.file.name) == video.sha256
    assert media_store.stat(video.file.name).size == video.size_bytes
    # The scratch copies are gone: only the stored files remain.
    assert not any(media_store.scratch_dir().iterdir())
    states = [t.to_state for t in task.transitions.all()]
    assert states[:3] == ["queued", "submitting", "waiting"]
    assert states[-2:] == ["downloading", "succeeded"]
    assert credits.account_for(alice).balance == 1000 - task.cost
    assert_books_balance()
    assert generate_calls(sim) == 1


def test_it_records_the_providers_failure(sim: RunningSimulator, alice: Any) -> None:
    task = queue_task(alice, prompt="a dancer [sim:fail=NSFW_DETECTED] on stage")
    drive()
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.fail_code == "NSFW_DETECTED"
    assert "adult content" in task.fail_reason
    assert credits.account_for(alice).balance == 1000
    assert_books_balance()


def test_it_rides_out_a_429_storm(sim: RunningSimulator, alice: Any) -> None:
    sim.set_faults({"rate_429": 0.6})
    tasks = [queue_task(alice) for _ in range(4)]
    drive(timeout=60)
    assert all(t.state == State.SUCCEEDED for t in GenerationTask.objects.all())
    assert generate_calls(sim) >= len(tasks)
    assert sim.stats()["tasks_created"] == len(tasks)  # none submitted twice
    assert_books_balance()


@pytest.mark.parametrize("fault", ["rate_500", "rate_503"])
def test_it_never_resends_after_a_server_error(
    sim: RunningSimulator, alice: Any, fault: str
) -> None:
    sim.set_faults({fault: 1.0})
    task = queue_task(alice)
    drive()
    task.refresh_from_db()
    # A 5xx to the submission leaves its outcome unknown; without a callback the
    # policy fails it unconfirmed and gives the credits back.
    assert task.state == State.FAILED
    assert task.fail_code == "SUBMISSION_UNCONFIRMED"
    assert generate_calls(sim) == 1
    assert credits.account_for(alice).balance == 1000
    assert_books_balance()


def test_it_polls_through_status_errors(sim: RunningSimulator, alice: Any) -> None:
    task = queue_task(alice)
    drive(
        lambda: GenerationTask.objects.filter(pk=task.pk, state=State.WAITING).exists()
    )
    sim.set_faults({"rate_503": 0.5, "malformed_json_rate": 0.2})
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    assert_books_balance()


def test_it_does_not_pay_twice_when_the_answer_is_lost(
    sim: RunningSimulator, alice: Any
) -> None:
    sim.set_faults({"drop_connection_rate": 1.0, "drop_after_create": True})
    task = queue_task(alice)
    drive()
    task.refresh_from_db()
    assert task.state == State.FAILED and task.fail_code == "SUBMISSION_UNCONFIRMED"
    assert sim.stats()["tasks_created"] == 1
    assert generate_calls(sim) == 1
    assert_books_balance()


def test_it_treats_a_timeout_after_sending_as_unknown(
    sim: RunningSimulator, alice: Any, settings: Any
) -> None:
    settings.APIXO_TIMEOUT_SECONDS = 0.3
    sim.set_faults({"slow_seconds": 1.0, "slow_rate": 1.0})
    task = queue_task(alice)
    drive()
    task.refresh_from_db()
    assert task.state == State.FAILED and task.fail_code == "SUBMISSION_UNCONFIRMED"
    assert generate_calls(sim) == 1
    assert_books_balance()


def test_it_retries_a_malformed_result_json_then_keeps_the_task(
    sim: RunningSimulator, alice: Any
) -> None:
    sim.set_faults({"malformed_result_json_rate": 1.0})
    task = queue_task(alice)
    drive(lambda: GenerationTask.objects.filter(pk=task.pk, poll_count__gte=8).exists())
    task.refresh_from_db()
    # Never failed on a bad status read; the error is kept for staff.
    assert task.state in (State.WAITING, State.GENERATING)
    assert "resultJson" in task.last_error
    assert_books_balance()


@pytest.mark.parametrize(
    "faults,reason",
    [
        ({"result_404_rate": 1.0}, "404"),
        ({"not_mp4_result_rate": 1.0}, "not an MP4"),
        ({"redirect_result_to": "http://10.1.2.3/video.mp4"}, "refusing"),
        ({"redirect_result_to": "http://169.254.169.254/latest"}, "refusing"),
    ],
)
def test_it_fails_an_unobtainable_result_and_releases(
    sim: RunningSimulator, alice: Any, faults: dict[str, Any], reason: str
) -> None:
    sim.set_faults(faults)
    task = queue_task(alice)
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.fail_code == "RESULT_UNAVAILABLE"
    assert reason in task.fail_message
    assert not VideoAsset.objects.exists()
    assert credits.account_for(alice).balance == 1000
    assert_books_balance()


@pytest.mark.usefixtures("media_storage")
def test_it_retries_a_truncated_download(sim: RunningSimulator, alice: Any) -> None:
    sim.set_faults({"truncated_result_rate": 1.0})
    task = queue_task(alice)
    drive_until_downloads_failed(task, 2)
    task.refresh_from_db()
    assert task.state == State.DOWNLOADING
    assert "truncated" in task.last_error or "broke off" in task.last_error
    sim.set_faults({})
    drive(timeout=60)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    video = VideoAsset.objects.get(task=task)
    assert video.size_bytes > 1000
    assert media_store.sha256_of(video.file.name) == video.sha256
    assert_books_balance()


def test_it_refuses_results_from_unlisted_hosts(
    sim: RunningSimulator, alice: Any, settings: Any
) -> None:
    settings.APIXO_RESULT_HOSTS = [".apixo.ai"]
    task = queue_task(alice)
    drive()
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert "refusing to download from 127.0.0.1" in task.fail_message
    assert_books_balance()


def test_it_fails_a_result_whose_url_expired(
    alice: Any, settings: Any, tmp_path: Any
) -> None:
    """The provider's URL expired before we could copy it: failed, credits back."""
    from generations.apixo.simulator.config import SimulatorConfig
    from generations.apixo.simulator.running import start_simulator
    from generations.pipeline.common import reset_client
    from tests.sim import API_KEY, SPEED

    # URLs live 2 provider-seconds (0.005 s at this speed): gone before we fetch.
    config = SimulatorConfig(
        api_key=API_KEY, speed=SPEED, data_dir=tmp_path, result_url_ttl_seconds=2
    )
    with start_simulator(config) as short_lived:
        settings.SIMULATOR_ENABLED = True
        settings.SIMULATOR_SPEED = SPEED
        settings.APIXO_BASE_URL = short_lived.base_url
        settings.APIXO_EFFECTIVE_KEY = API_KEY
        settings.APIXO_RESULT_HOSTS = ["127.0.0.1"]
        settings.APIXO_RESULT_ALLOW_LOCAL = True
        reset_client()
        task = queue_task(alice)
        drive(timeout=60)
        reset_client()
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.fail_code == "RESULT_UNAVAILABLE"
    assert "403" in task.fail_message or "expired" in task.fail_message
    assert credits.account_for(alice).balance == 1000
    assert_books_balance()
