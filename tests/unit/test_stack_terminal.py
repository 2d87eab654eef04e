"""What the terminal of `make run` shows of the lines the functions print (the rest is in the
data folder's functions.log), and the message for a busy port."""

from __future__ import annotations

import json

from devstack.stack import PortInUse, terminal_line


def record(level: str, message: str, **fields: str) -> str:
    return json.dumps({"level": level, "message": message, "service": "relayq", **fields})


def test_info_records_stay_in_the_function_log() -> None:
    assert terminal_line(record("INFO", "request", route="/v1/jobs", status="200")) is None
    assert terminal_line(record("DEBUG", "detail")) is None


def test_warnings_and_errors_show_as_level_and_message() -> None:
    assert terminal_line(record("WARNING", "slow Redis")) == "WARNING slow Redis"
    exception = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad payload'
    assert (
        terminal_line(record("ERROR", "job failed", exception=exception)) == "ERROR job failed: ValueError: bad payload"
    )


def test_other_lines_show_as_printed() -> None:
    assert terminal_line("hello from a print") == "hello from a print"
    assert terminal_line("{not json") == "{not json"
    assert terminal_line("[1, 2]") == "[1, 2]"


def test_a_busy_port_names_the_option_and_the_variable() -> None:
    message = str(PortInUse({"moto_port": 4566}))
    assert "port 4566 (moto: DynamoDB, S3, SES) is in use" in message
    assert "--moto-port N" in message and "RELAYQ_MOTO_PORT=4567 make run" in message
