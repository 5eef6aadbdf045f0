from datetime import UTC, datetime, timedelta

from calisera_operator.conditions import failed, find_condition, reconciled, set_condition

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_set_condition_adds_a_missing_type_with_the_current_time():
    result = set_condition([], type="Ready", status="True", reason="R", message="m", now=T0)
    assert result == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "R",
            "message": "m",
            "lastTransitionTime": "2026-11-01T09:00:00Z",
        }
    ]


def test_same_status_keeps_the_transition_time_but_takes_the_new_reason():
    first = set_condition([], type="Ready", status="True", reason="A", message="a", now=T0)
    second = set_condition(first, type="Ready", status="True", reason="B", message="b", now=T1)
    assert second[0]["lastTransitionTime"] == "2026-11-01T09:00:00Z"
    assert (second[0]["reason"], second[0]["message"]) == ("B", "b")


def test_changed_status_moves_the_transition_time():
    first = set_condition([], type="Ready", status="True", reason="A", message="a", now=T0)
    second = set_condition(first, type="Ready", status="False", reason="B", message="b", now=T1)
    assert second[0]["lastTransitionTime"] == "2026-11-01T09:05:00Z"


def test_one_entry_per_type_and_other_types_untouched():
    conditions = reconciled([], now=T0, generation=1, message="ok", suspended=False)
    again = set_condition(conditions, type="Synced", status="True", reason="X", message="x", now=T1)
    assert [c["type"] for c in again] == ["Ready", "Synced", "Degraded"]
    assert find_condition(again, "Ready") == find_condition(conditions, "Ready")


def test_failure_then_recovery_marks_degraded_and_ready_transitions():
    ok = reconciled([], now=T0, generation=1, message="ok", suspended=False)
    down = failed(
        ok, now=T1, generation=1, reason="ProvidersUnavailable", message="down", retrying=True
    )
    assert find_condition(down, "Ready")["status"] == "False"
    assert find_condition(down, "Degraded")["status"] == "True"
    assert find_condition(down, "Degraded")["reason"] == "ProvidersUnavailable"
    assert find_condition(down, "Synced")["status"] == "Unknown"
    back = reconciled(
        down, now=T1 + timedelta(minutes=1), generation=1, message="ok", suspended=False
    )
    assert find_condition(back, "Ready")["status"] == "True"
    assert find_condition(back, "Degraded")["status"] == "False"
    assert find_condition(back, "Ready")["lastTransitionTime"] == "2026-11-01T09:06:00Z"


def test_rejected_spec_is_not_retried_and_says_so():
    result = failed(
        [], now=T0, generation=2, reason="ProviderRejected", message="409", retrying=False
    )
    assert find_condition(result, "Synced")["status"] == "False"
    assert find_condition(result, "Ready")["message"].endswith("Fix the spec.")
    assert all(c["observedGeneration"] == 2 for c in result)


def test_suspended_tenant_is_ready_with_reason_suspended():
    result = reconciled([], now=T0, generation=1, message="ok", suspended=True)
    assert find_condition(result, "Ready")["reason"] == "Suspended"
