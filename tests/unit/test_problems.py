from calisera.core.errors import InvalidInput, field_errors, validation_problem


def test_body_field_path_is_dotted_with_list_indexes():
    errors = field_errors(
        [
            {"loc": ("body", "customer", "email"), "msg": "value is not a valid email"},
            {"loc": ("body", "weekly", 2, "start"), "msg": "Value error, not on a 5-minute grid"},
            {"loc": ("query", "start"), "msg": "Field required"},
        ]
    )
    assert [e.field for e in errors] == ["customer.email", "weekly[2].start", "start"]
    assert errors[1].message == "not on a 5-minute grid"


def test_malformed_json_is_a_400_naming_the_body():
    problem = validation_problem(
        [{"loc": ("body", 7), "msg": "JSON decode error", "type": "json_invalid"}]
    )
    assert problem.status == 400
    assert problem.errors[0].field == "body"


def test_field_problem_names_the_field():
    problem = InvalidInput.field("timezone", "unknown time zone 'Mars/Olympus'")
    assert problem.status == 422
    assert problem.errors[0].field == "timezone"
    assert "Mars/Olympus" in problem.detail


def test_a_problem_whose_class_takes_other_arguments_is_rebuilt_from_its_answer() -> None:
    from calisera.core.errors import FieldError, problem_from_body

    class NeedsAReason(InvalidInput):
        status, slug, title = 422, "test-needs-a-reason", "Needs a reason"

        def __init__(self, reason: str):
            super().__init__(f"because {reason}", errors=[FieldError("start", reason)])

    body = {
        "type": "https://calisera.dev/problems/test-needs-a-reason",
        "detail": "because closed",
        "errors": [{"field": "start", "message": "closed"}],
        "reason": "closed",
    }
    problem = problem_from_body(422, body, default_detail="x")
    assert isinstance(problem, NeedsAReason)
    assert problem.detail == "because closed" and problem.extra == {"reason": "closed"}
    assert problem.errors == [FieldError("start", "closed")]
