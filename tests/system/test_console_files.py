# SPDX-License-Identifier: Apache-2.0
"""The web console's files, served by the node itself at "/".

A GET of a path no route takes, outside /api, /open311, /metrics and
/healthz, is a file of console_dir: a regular file of a known type, with
its content type, an ETag that turns a second fetch into 304, and
Cache-Control; never a listing, a hidden file, a link out or a path that
climbs out, and never in the way of a route.
"""

import gzip
import os
import pathlib
import shutil
import socket

import pytest

from lifecycle import standalone_city


INDEX = "<!doctype html><title>12345</title><script src=app.js></script>\n"
SCRIPT = "console.log('坐席工作台');\n"


@pytest.fixture
def node(workspace):
    files = workspace.folder / "console"
    (files / "css").mkdir(parents=True)
    (files / "index.html").write_text(INDEX)
    (files / "app.js").write_text(SCRIPT)
    (files / "app.js.gz").write_bytes(gzip.compress(SCRIPT.encode()))
    (files / "css" / "style.css").write_text("body { margin: 0 }\n")
    (files / ".secret.js").write_text("hidden\n")
    (files / "data.bin").write_bytes(b"\0\1\2")
    (files / "folder.js").mkdir()
    os.symlink("/etc/passwd", files / "passwd.txt")
    outside = workspace.folder / "outside"
    outside.mkdir()
    (outside / "secret.js").write_text("not the console's\n")
    os.symlink(outside, files / "linked")
    os.mkfifo(files / "pipe.js")
    # A script patched after the build compressed it: the copy is stale.
    (files / "patched.js").write_text(SCRIPT)
    (files / "patched.js.gz").write_bytes(gzip.compress(b"old"))
    os.utime(files / "patched.js.gz", (1_000_000_000, 1_000_000_000))
    node = standalone_city(workspace, console_dir=files)
    node.start()
    return node


def raw_status(node, path, method="GET"):
    """The status of a request sent as it is, path bytes untouched."""
    with socket.create_connection(("127.0.0.1", node.settings["http_port"]), timeout=10) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert b"root:" not in answer
    return int(answer.split(b" ", 2)[1])


def test_the_root_is_the_console_page_and_a_second_fetch_is_304(node):
    page = node.http("GET", "/")
    assert page.status_code == 200
    assert page.text == INDEX
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    etag = page.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    again = node.http("GET", "/index.html", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag

    other = node.http("GET", "/", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.text == INDEX


def test_scripts_and_styles_carry_their_type_and_are_kept_a_day(node):
    script = node.http("GET", "/app.js", headers={"Accept-Encoding": "identity"})
    assert script.status_code == 200
    assert script.content == SCRIPT.encode()
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["Cache-Control"] == "public, max-age=86400"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    style = node.http("GET", "/css/style.css")
    assert style.status_code == 200
    assert style.headers["Content-Type"] == "text/css; charset=utf-8"


def test_a_script_compressed_by_the_build_goes_to_a_client_that_takes_gzip(node):
    packed = node.http("GET", "/app.js", headers={"Accept-Encoding": "gzip, deflate"}, stream=True)
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert packed.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert gzip.decompress(packed.raw.read()) == SCRIPT.encode()
    plain = node.http("GET", "/app.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.content == SCRIPT.encode()
    refused = node.http("GET", "/app.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert node.http("GET", "/app.js.gz").status_code == 404
    page = node.http("GET", "/", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in page.headers


def test_a_compressed_copy_older_than_its_file_is_not_served(node):
    answer = node.http("GET", "/patched.js", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert "Content-Encoding" not in answer.headers
    assert answer.content == SCRIPT.encode()


def test_head_answers_the_headers_alone(node):
    head = node.http("HEAD", "/app.js", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(SCRIPT.encode()))
    assert head.content == b""


@pytest.mark.parametrize("path", [
    "/css", "/css/", "/folder.js", "/.secret.js", "/passwd.txt", "/data.bin", "/missing.js",
    "/css/../app.js", "/css/%2e%2e/app.js", "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2fetc%2fpasswd", "//etc/passwd", "/a/b/c/d/e.js",
    "/linked/secret.js", "/pipe.js",
])
def test_no_listing_no_hidden_file_no_link_and_no_climbing_out(node, path):
    assert raw_status(node, path) == 404


def test_only_get_and_head_reach_the_files(node):
    assert raw_status(node, "/app.js", method="POST") == 404
    assert raw_status(node, "/app.js", method="DELETE") == 404
    assert (node.http("GET", "/app.js")).status_code == 200


def test_the_console_never_shadows_the_api(node):
    missing = node.http("GET", "/api/v1/nothing.html")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json"
    assert missing.json()["error"]["code"] == "not_found"
    assert node.http("GET", "/api/v1/tickets").status_code == 401
    assert node.http("GET", "/healthz").json()["status"] == "ok"
    assert node.http("GET", "/metrics").headers["Content-Type"].startswith("text/plain")
    progress = node.http("GET", "/api/v1/progress/440100-20241104-000001",
                         params={"phone_last4": "8000"})
    assert progress.status_code == 404
    assert progress.headers["Content-Type"] == "application/json"
    services = node.http("GET", "/open311/v2/services.json")
    assert services.status_code == 200 and services.json()
    assert node.http("GET", "/open311/v2/index.html").status_code == 404


def test_a_console_dir_that_does_not_exist_is_refused(workspace):
    node = standalone_city(workspace)
    node.settings["console_dir"] = workspace.folder / "nowhere"
    node.write_config()
    result = node.check_config()
    assert result.returncode != 0
    assert "console_dir" in result.stderr and "not an existing directory" in result.stderr


def test_a_new_build_that_replaced_the_folder_is_served_at_once(node):
    files = pathlib.Path(node.settings["console_dir"])
    assert node.http("GET", "/app.js").content == SCRIPT.encode()
    fresh = files.with_name("console.new")
    fresh.mkdir()
    (fresh / "index.html").write_text(INDEX)
    (fresh / "app.js").write_text("console.log('新版');\n")
    shutil.rmtree(files)
    fresh.rename(files)
    assert node.http("GET", "/app.js").text == "console.log('新版');\n"
