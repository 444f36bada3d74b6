"""A 403 that refuses the token reads as rejected credentials; clean-up neither retries a refusal of the step's
credentials nor undoes a call that Databricks refused."""

from __future__ import annotations

import time

import pytest
from databricks.sdk.errors import PermissionDenied, Unauthenticated

from dbcicd.connect.refusals import explain_refusal
from dbcicd.errors import ConfigurationError, RunFailed
from dbcicd.output import PlainOutput
from dbcicd.steps.teardown import InFlight, Teardown


def test_403_invalid_access_token_names_the_credentials_not_a_permission() -> None:
    explained = explain_refusal(PermissionDenied("Invalid access token."), {"connectionType": "databricks"})
    assert isinstance(explained, ConfigurationError)
    assert "did not accept the credentials of the service connection of input 'databricksConnection' (403" in str(
        explained
    )


def test_a_refused_credential_in_clean_up_is_one_warning_not_retries(capsys: pytest.CaptureFixture[str]) -> None:
    teardown, calls = Teardown(PlainOutput()), []

    def action() -> None:
        calls.append(1)
        raise Unauthenticated("Invalid access token.")

    teardown.add("delete the folder", action)
    started = time.monotonic()
    teardown.run(hurry=False)
    assert time.monotonic() - started < 1 and calls == [1]
    assert capsys.readouterr().out.count("WARNING") == 1


def test_clean_up_of_a_refused_create_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    def create() -> None:
        raise RunFailed("Creating the Git folder failed") from PermissionDenied("no")

    creating, looked = InFlight(create), []
    teardown = Teardown(PlainOutput())
    teardown.add("delete the folder", lambda: (creating.settled(1), looked.append(1)))
    teardown.run(hurry=False)
    assert looked == [] and "WARNING" not in capsys.readouterr().out
