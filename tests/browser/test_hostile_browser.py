"""Issue 12 in a real browser: markdown links and images planted in a link, a file name, a CSV header and a
model card are shown as literal text, and Chromium never requests anything from the planted address (a
local listener counts every request it gets)."""

import http.server
import threading

import pytest
from test_browser import assert_no_exception, open_page, settle

import inflow_core as ic
from inflow_core import training

pytestmark = pytest.mark.browser


@pytest.fixture
def listener():
    """A local HTTP server that records every path requested from it; yields (base URL, requests)."""
    seen: list[str] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler API's name
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def payloads(base: str, where: str) -> tuple[str, str]:
    """A phishing-style link and an image, both pointing at the listener, tagged by where they are planted."""
    return f"[Your session expired: log in again]({base}/{where}-link)", f"![p]({base}/{where}-image.png)"


def test_planted_links_and_images_stay_text_and_fetch_nothing(page, app_url, listener, artifacts):
    base, seen = listener
    # 1. Link fields: each value is refused with a warning that quotes it.
    for field in ("dataset", "family", "n", "lesson"):
        link, image = payloads(base, field)
        open_page(page, f"{app_url}/?{field}={link}", "Inflationary Flows Explorer")
        assert_no_exception(page)
        open_page(page, f"{app_url}/?{field}={image}", "Inflationary Flows Explorer")
        assert_no_exception(page)
        assert page.get_by_text("![p](", exact=False).count() >= 1  # shown literally
    # 2. A CSV whose file name and header carry payloads.
    open_page(page, f"{app_url}/data?n=300", "Data")
    page.get_by_text("Upload a file").click()
    settle(page)
    link, image = payloads(base, "header")
    rows = "\n".join(f"{0.1 * i:.2f},{(0.37 * i) % 1:.2f}" for i in range(60))
    name_link, _ = payloads(base, "filename")
    csv = f"{link},{image}\n{rows}\n".encode()
    page.locator("input[type=file]").first.set_input_files(
        files=[{"name": f"{name_link}.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    page.wait_for_timeout(1000)
    settle(page)
    assert_no_exception(page)
    assert page.get_by_text("60 points in D = 2", exact=False).count() >= 1
    # 3. A model whose card carries payloads.
    X, _ = ic.datasets.load("circles", n=300, seed=0)
    basis = ic.EigenBasis.fit(X)
    result = training.train(
        X,
        basis,
        ic.Schedule.isotropic(basis.eigenvalues),
        training.TrainConfig(steps=3, batch_size=64, width=16, depth=1, device="cpu"),
        data_info={"dataset": payloads(base, "card")[1], "note": payloads(base, "card")[0]},
    )
    open_page(page, f"{app_url}/train?n=300", "Train / Load")
    page.locator("input[type=file]").first.set_input_files(
        files=[
            {
                "name": "model.safetensors",
                "mimeType": "application/octet-stream",
                "buffer": ic.checkpoints.to_bytes(result.flow, result.card),
            }
        ]
    )
    page.wait_for_timeout(1000)
    settle(page)
    assert_no_exception(page)
    page.wait_for_timeout(2000)  # time for any image or prefetch request to arrive
    page.screenshot(path=str(artifacts / "hostile_text.png"), full_page=True)
    assert seen == [], f"the browser requested planted addresses: {seen}"
    # Nothing became an anchor to the listener either.
    assert page.locator(f"a[href^='{base}']").count() == 0
