"""The driver's timing decisions, which both dispatchers (inline and Celery) only carry out:
when a personal email is tried again, how often a running task renews its lease, and how
soon a batch interrupted by the database or the broker runs again."""
import pytest

from newsletter.config import Settings
from newsletter.delivery.driver import interrupted_retry_in, lease_renew_every, one_off_retry_in
from newsletter.transport.failures import FailureClass, SendFailure, Stage, refusal

SETTINGS = Settings(secret_key="k", database_url="sqlite://", retry_base_seconds=10, confirmation_max_retries=4,
                    confirmation_max_delay_seconds=60, lease_seconds=60)


def test_temporary_failures_back_off_up_to_a_ceiling_then_give_up():
    later = refusal(Stage.RCPT, 451, "4.3.0 try later")
    assert [one_off_retry_in(SETTINGS, later, n) for n in range(5)] == [10, 20, 40, 60, None]
    down = SendFailure(FailureClass.RELAY_DOWN, "cannot connect")
    assert one_off_retry_in(SETTINGS, down, 0) == 10


@pytest.mark.parametrize("failure", [refusal(Stage.RCPT, 550, "5.1.1 no such user"),
                                     refusal(Stage.DATA, 554, "5.7.1 spam"),
                                     SendFailure(FailureClass.UNDELIVERABLE, "no SMTPUTF8")],
                         ids=["recipient", "message", "undeliverable"])
def test_a_refusal_is_never_tried_again(failure):
    assert one_off_retry_in(SETTINGS, failure, 0) is None


def test_leases_are_renewed_four_times_a_lease():
    assert lease_renew_every(SETTINGS) == 15


def test_an_interrupted_batch_comes_back_within_seconds():
    assert [interrupted_retry_in(SETTINGS, n) for n in range(6)] == [0.5, 1, 2, 4, 5, 5]
    assert interrupted_retry_in(SETTINGS, 10**6) == 5
