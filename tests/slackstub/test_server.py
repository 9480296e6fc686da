"""The stand-in shows what Slack shows: replies replace or delete the message their button
was on, shared posts stay in the channel, and a client hanging up prints no traceback."""

from __future__ import annotations

import json
import socket
import struct
import urllib.request

import pytest

from tests.bot.conftest import wait_for


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def texts(stub) -> list[str]:
    return [m["text"] for m in stub.ephemerals("C0GENERAL", "U0LOCAL")]


def test_next_replaces_the_results_message_instead_of_adding_one(slack, reply):
    first = reply("reasoning")
    assert texts(slack) == ["20 papers match `reasoning`"]
    clicked = slack.click(first, "search_next")
    wait_for(lambda: slack.responses(clicked["response_id"]))
    shown = slack.ephemerals("C0GENERAL", "U0LOCAL")
    assert len(shown) == 1
    assert "showing 6–10" in json.dumps(shown[0]["blocks"], ensure_ascii=False)


def test_share_is_stored_in_the_channel(slack, reply):
    shared = slack.click(reply("lora"), "search_share")
    wait_for(lambda: slack.responses(shared["response_id"]))
    posted = slack.messages("C0GENERAL")
    assert len(posted) == 1 and "Shared by <@U0LOCAL>" in json.dumps(posted[0]["blocks"])
    assert texts(slack) == ["2 papers match `lora`"]  # the ephemeral results stay too


@pytest.mark.parametrize(
    ("body", "left"),
    [
        pytest.param({"replace_original": True, "text": "new"}, ["new"], id="replace"),
        pytest.param({"replace_original": "true", "text": "new"}, ["new"], id="replace-string"),
        pytest.param({"delete_original": True}, [], id="delete"),
        pytest.param({"text": "another"}, ["old", "another"], id="neither-adds"),
    ],
)
def test_response_url_honours_replace_and_delete_original(standin, body, left):
    first_id, first_url = standin.new_response_url()
    assert post(first_url, {"text": "old"}) == 200
    original = standin.responses(first_id)[0]
    button = {"type": "actions", "elements": [{"type": "button", "action_id": "b", "value": "1"}]}
    original["blocks"] = [button]
    standin.app_url = None  # no app: only the click's response_url is needed
    origin = {"ephemeral": original["_ephemeral"]}
    _, url = standin.new_response_url(origin=origin)
    assert post(url, body) == 200
    assert texts(standin) == left


def test_a_client_hanging_up_prints_no_traceback(standin, capfd):
    sock = socket.create_connection(("127.0.0.1", standin.httpd.server_address[1]))
    sock.sendall(b"GET /_stub/state HTTP/1.1\r\nHost: x\r\n")  # half a request
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # a reset, as a closed tab sends
    wait_for(lambda: standin.httpd.disconnects == 1)
    assert "Traceback" not in capfd.readouterr().err


def test_a_command_while_the_app_is_down_says_so_on_the_page(standin, capfd):
    # `papers standin` before `papers serve` is up: the page showed nothing and the
    # terminal a traceback. Slack shows "/papers failed with the error "dispatch_failed"".
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens here once the block ends
    standin.app_url = f"http://127.0.0.1:{closed}/slack/events"
    assert post(f"{standin.url}/_stub/command", {"text": "lora"}) == 200
    (said,) = texts(standin)
    assert said.startswith('/papers failed with the error "dispatch_failed"')
    assert f"http://127.0.0.1:{closed}/slack/events" in said  # where the stand-in sent it
    assert "Traceback" not in capfd.readouterr().err


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the block ends
    return f"http://127.0.0.1:{port}/slack/events"


def test_a_command_the_app_refuses_says_why_on_the_page(slack):
    # `papers standin --signing-secret` not the app's: the app refused every command (401)
    # and the page showed nothing at all, as if the command were still on its way.
    slack.signing_secret = "not-the-apps-secret"
    assert post(f"{slack.url}/_stub/command", {"text": "lora"}) == 200
    (said,) = texts(slack)
    assert said.startswith('/papers failed with the error "http_client_error, HTTP 401"')


def test_a_click_the_app_does_not_take_says_so_beside_the_message(slack, reply):
    # Slack marks a button whose request failed; the page did nothing, and a newcomer
    # pressed Next again and again.
    first = reply("reasoning")
    slack.app_url = down = closed_url()
    ref = {"ephemeral": first["_ephemeral"]}
    assert post(f"{slack.url}/_stub/click", {"ref": ref, "action_id": "search_next"}) == 200
    assert texts(slack) == [
        "20 papers match `reasoning`",
        f'The button Next failed with the error "dispatch_failed" (sent to {down})',
    ]


@pytest.mark.parametrize("size, ok", [(3000, True), (3001, False)], ids=["at-limit", "over"])
def test_views_publish_refuses_private_metadata_past_slacks_limit(standin, size, ok):
    # App Home keeps the preview it shows in private_metadata; Slack takes 3,000 characters
    # of it and refuses the whole view past that, which the stand-in published.
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=standin.token, base_url=standin.api_url)
    view = {"type": "home", "blocks": [], "private_metadata": "x" * size}
    try:
        client.views_publish(user_id="U0LOCAL", view=view)
    except SlackApiError as exc:
        assert exc.response["error"] == "invalid_arguments"
    assert ("U0LOCAL" in standin.state.views) is ok


def test_slack_refuses_two_blocks_with_one_block_id():
    # The reading list names its blocks (saved_<page>_<paper>): a paper listed twice in one
    # message or App Home would be refused by Slack, and the stand-in took it.
    from slackstub.limits import validate_blocks

    block = {"type": "section", "block_id": "saved_0_7", "text": {"type": "mrkdwn", "text": "x"}}
    assert validate_blocks([block], surface="home") == []
    assert validate_blocks([block, dict(block)], surface="home") == [
        "block 1: duplicate block_id saved_0_7"
    ]


@pytest.mark.parametrize("ephemeral", [True, False], ids=["ephemeral", "channel-message"])
def test_a_click_says_whether_its_message_was_ephemeral_as_slack_does(standin, ephemeral):
    """Slack's block_actions payload marks a click on an ephemeral message so, and carries
    the message itself only for a message in the channel: the stand-in said every message
    was ephemeral, and sent none."""
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[dict] = []

    class App(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            got.append(json.loads(urllib.parse.parse_qs(body)["payload"][0]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    app = ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        standin.app_url = f"http://127.0.0.1:{app.server_address[1]}/slack/events"
        button = {"type": "button", "action_id": "b", "value": "1", "text": "Go"}
        message = {"text": "hi", "blocks": [{"type": "actions", "elements": [button]}]}
        message |= {"_ephemeral": "e1", "ts": "1.1"} if ephemeral else {"ts": "1.2"}
        message["channel"] = "C0GENERAL"
        standin.click(message, "b")
    finally:
        app.shutdown()
        app.server_close()
    (payload,) = got
    assert payload["container"]["is_ephemeral"] is ephemeral
    assert ("message" in payload) is not ephemeral
    if not ephemeral:
        assert payload["message"]["text"] == "hi" and "_ephemeral" not in payload["message"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/_stub/home", {}),
        ("/_stub/nowhere", {}),
        ("/_stub/command", {"Origin": "http://elsewhere.example"}),
    ],
)
def test_a_post_whose_body_is_not_used_leaves_the_connection_usable(slack, path, headers):
    # The page opens App Home with a POST carrying "{}", which the stand-in did not read:
    # the browser's next request on that kept-alive connection was read as "{}GET
    # /_stub/state" and refused (501), a console error and a failed refresh at each
    # App Home opened.
    import http.client
    import urllib.parse

    address = urllib.parse.urlparse(slack.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        connection.request(
            "POST", path, body=b"{}", headers={"Content-Type": "application/json", **headers}
        )
        connection.getresponse().read()
        connection.request("GET", "/_stub/state")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
