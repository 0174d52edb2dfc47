"""The chat for every reader: both themes at desktop and phone widths (contrast, names,
axe-core), citations that go to their cards, the keyboard's order and what screen readers read."""
import pytest
from helpers import TOKEN
from ui_browser import CONTRAST, DESKTOP, NEWEST, PHONE, TIDAL, ask, browser, opened

pytestmark = pytest.mark.slow
SERIOUS = ("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
           ".filter(v => ['serious', 'critical'].includes(v.impact))"
           ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")


def test_browser_themes_citations_and_axe(chromium, axe, live):
    from playwright.sync_api import expect

    with browser(chromium) as chrome:
        for theme, size in (("light", DESKTOP), ("dark", DESKTOP), ("dark", PHONE),
                            ("light", PHONE)):
            page = opened(chrome, f"{live}/?__theme={theme}&token={TOKEN}", size, theme)
            width = size[0]
            assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
            expect(page.get_by_role("textbox", name="Question")).to_have_count(1)
            expect(page.locator("#status")).to_contain_text(f" to {NEWEST}")  # its date range
            assert "model" not in page.locator("#status").inner_text()
            expect(page.locator("#as-of")).to_contain_text("on or before this date")
            expect(page.locator("#examples button:visible")).to_have_count(3)
            reply = ask(page, TIDAL)
            for selector in (".card mark", ".card-meta", ".meta"):
                ratio = reply.locator(selector).first.evaluate(CONTRAST)
                assert ratio >= 4.5, f"{selector} in {theme} at {width}px: {ratio:.2f}:1"
            reply.locator("a.cite").first.click()
            expect(reply.locator(".card").first).to_have_class("card flash")
            expect(reply.locator(".card").first).to_be_in_viewport()
            if width < 640:  # a phone's filters are checked open too
                page.get_by_role("button", name="Filters").click()
            page.add_script_tag(path=str(axe))
            found = page.evaluate(SERIOUS)
            assert found == [], f"axe-core in {theme} at {width}px: {found}"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.close()


def test_the_keyboard_reaches_the_question_before_any_answer_link(chromium, live):
    """Tab from the top of the page: the question box comes before the answers' [n] links,
    card titles and "show the whole passage" toggles, however many answers there are."""
    with browser(chromium) as chrome:
        page = opened(chrome, live)
        for question in (TIDAL, "Who won the Northern Open chess championship?"):
            ask(page, question)
        assert page.locator("#chat a.cite, #chat .card a, #chat summary").count() >= 3
        page.locator("#header h2").click()  # the keyboard starts from the top
        reached = []
        for _ in range(10):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("""() => { const e = document.activeElement;
              return e.closest('#question') ? 'question' : e.closest('#chat .answer') ?
                'answer link' : e.tagName + ' ' + (e.getAttribute('aria-label') || e.innerText)
                .trim().slice(0, 30); }"""))
            if reached[-1] in ("question", "answer link"):
                break
        assert reached[-1] == "question", reached


def test_screen_readers_get_each_message_as_plain_text(chromium, live):
    """Gradio labels a message with its content, which for an answer is HTML: the label is the
    text a reader sees instead, for questions and answers alike."""
    with browser(chromium) as chrome:
        page = opened(chrome, live)
        ask(page, "Tides & turbines: what happened at Harbourton?")  # escaped in the chat
        reply = ask(page, TIDAL)
        page.wait_for_timeout(200)  # the label follows the message in the next frame
        labels = page.locator("#chat [aria-label*='message: ']").evaluate_all(
            "els => els.map(e => e.getAttribute('aria-label'))")
        assert len(labels) == 4, labels
        assert not [label for label in labels if "<" in label or "&amp;" in label], labels
        assert "user's message: Tides & turbines: what happened at Harbourton?" in labels
        lead = reply.locator(".lead").inner_text()
        assert any(label.startswith(f"bot's message: {lead[:60]}") for label in labels), labels
