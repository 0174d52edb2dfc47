"""The chat on a phone (390x844): the filters sit behind one "Filters" button at the top, and
the header (title, collection, Filters) stays on screen while the answers scroll."""
import pytest
from ui_browser import PHONE, TIDAL, ask, browser, opened

pytestmark = pytest.mark.slow


def test_a_phone_keeps_the_filters_behind_one_button_and_the_header_in_view(chromium, live):
    from playwright.sync_api import expect

    with browser(chromium) as chrome:
        page = opened(chrome, live, PHONE)
        toggle = page.get_by_role("button", name="Filters", exact=True)
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(toggle).to_have_attribute("aria-controls", "filters")
        header = page.locator("#header").bounding_box()
        assert toggle.bounding_box()["y"] < header["y"] + header["height"]  # at the top
        for field in ("#as-of input", "#since input", "#passages input[type=number]"):
            expect(page.locator(field)).to_be_hidden()

        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#as-of input")).to_be_focused()  # the keyboard goes on from there
        for field in ("#as-of input", "#since input", "#passages input[type=number]"):
            expect(page.locator(field)).to_be_in_viewport()  # right under the button
        assert (page.locator("#filters").bounding_box()["y"]
                < page.locator("#chat").bounding_box()["y"])
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(page.locator("#as-of input")).to_be_hidden()

        for question in (TIDAL, "Who won the Northern Open chess championship?"):
            ask(page, question)
            expect(page.locator("#header h2")).to_be_in_viewport()
            expect(toggle).to_be_in_viewport()
        page.mouse.wheel(0, 2000)  # down to the examples and "Add articles"
        page.wait_for_function("scrollY > 200")
        for part in ("#header h2", "#status"):
            expect(page.locator(part)).to_be_in_viewport()
        status = page.locator("#status").bounding_box()
        assert 0 <= status["y"] and status["y"] + status["height"] <= 844
        covering = page.evaluate("""() => { const b = document.querySelector('#filters-toggle')
          .getBoundingClientRect(); const at = document.elementFromPoint(b.x + b.width / 2,
          b.y + b.height / 2);
          return at && at.closest('#filters-toggle') ? null : at?.outerHTML; }""")
        assert covering is None, f"the Filters button is covered by {covering[:120]}"
        toggle.click()  # still works from down the page
        expect(page.locator("#as-of input")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
