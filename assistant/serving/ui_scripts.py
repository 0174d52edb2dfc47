"""What the chat page does in the browser: its scripts and its style sheet (ui.py wires them).

Gradio draws the page; these fill the gaps it leaves for readers, keyboards and phones.
"""

# Once a page: [n] scrolls to its card and flashes it (the chat's links would open a new tab);
# calendar buttons say which date they pick; each chat message is labelled by its text, not
# the HTML Gradio puts in the label; the phone's "Filters" button shows and hides the filters.
PAGE_JS = """() => { document.addEventListener('click', (e) => {
  const link = e.target.closest && e.target.closest('a.cite'); if (!link) return;
  e.preventDefault(); e.stopPropagation();
  const card = document.getElementById(link.getAttribute('href').slice(1)); if (!card) return;
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
  card.classList.remove('flash'); void card.offsetWidth; card.classList.add('flash');
}, true);
  document.addEventListener('click', (e) => {
    const toggle = e.target.closest && e.target.closest('#filters-toggle'); if (!toggle) return;
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    document.querySelector('#main')?.toggleAttribute('data-filters-open', open);
    if (open) document.querySelector('#filters input')?.focus();  // the next thing to set
  });
  // The Passages box takes what the slider does: a whole number from its min to its max.
  document.addEventListener('change', (e) => {
    const box = e.target.closest && e.target.closest('#passages input[type=number]');
    if (!box) return;
    const [low, high, typed] = [Number(box.min), Number(box.max), Math.round(Number(box.value))];
    const fixed = String(Number.isNaN(typed) ? low : Math.min(high, Math.max(low, typed)));
    if (fixed !== box.value) { box.value = fixed; box.dispatchEvent(new Event('input')); }
  }, true);
  const label = (el, text) => { if (el.getAttribute('aria-label') !== text)
    el.setAttribute('aria-label', text); };  // only a change: the observer sees each one
  const tidy = () => {
    document.querySelectorAll('#as-of .calendar, #since .calendar').forEach(b => label(b,
      'Pick the ' + (b.closest('#as-of') ? 'As of' : 'Since') + ' date from a calendar'));
    document.querySelectorAll('#chat [aria-label*="message: "]').forEach(m => label(m,
      m.getAttribute('aria-label').split(': ', 1)[0] + ': '
      + m.innerText.replace(/\\s+/g, ' ').trim().slice(0, 500)));
  };
  let queued = false;  // one tidy a frame, however many changes the frame brought
  const soon = () => { if (!queued) { queued = true;
    requestAnimationFrame(() => { queued = false; tidy(); }); } };
  tidy(); new MutationObserver(soon).observe(document.body,
    {childList: true, subtree: true, characterData: true, attributeFilter: ['aria-label']});
}"""
# Copy gives plain text: the lead, then the numbered citations with title, outlet, date, link
# (Gradio's own copy button would put the message's HTML on the clipboard).
COPY_JS = """() => { const plain = (answer) => [answer.querySelector('.lead')?.innerText || '',
  ...[...answer.querySelectorAll('.card')].map(card => { const link = card.querySelector(
    '.card-title a'); return [card.querySelector('.card-title').innerText,
    card.querySelector('.card-meta').innerText, link ? link.href : ''].filter(Boolean)
    .join(' · '); })].join('\\n');
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('#chat button[aria-label="Copy message"]');
    const answer = button && button.closest('.message')?.querySelector('.answer');
    if (!answer) return;
    e.preventDefault(); e.stopPropagation(); navigator.clipboard.writeText(plain(answer));
  }, true); }"""
# The URL carries the question and its date, so that an answer can be shared and reopened.
SHARE_URL = """(q, asOf) => { const url = new URL(location.href);
  url.searchParams.set('q', q); if (asOf) url.searchParams.set('as_of', asOf);
  else url.searchParams.delete('as_of'); history.replaceState(null, '', url);
  sessionStorage.setItem('news-asked', url.search); }"""
# A shared URL is asked as soon as the page has filled its question box from it, once: a
# reload of this tab shows the kept conversation instead of asking again.
ASK_SHARED = """() => { if (new URLSearchParams(location.search).get('q')
    && sessionStorage.getItem('news-asked') !== location.search)
  setTimeout(() => document.querySelector('#ask').click(), 0); }"""
# An answer that takes longer than 300 ms says what is going on; a quicker one says nothing.
WAITING = """() => { clearTimeout(window.newsWaiting); window.newsWaiting = setTimeout(() => {
  const line = document.querySelector('#progress-line');
  if (line) line.textContent = line.dataset.text; }, 300); }"""
# After an answer: the progress line goes, and the chat (only the chat: the page and its header
# stay where they are) scrolls its newest question to the top, the lead right below it.
ANSWERED = """() => { clearTimeout(window.newsWaiting);
  const line = document.querySelector('#progress-line'); if (line) line.textContent = '';
  const chat = document.querySelector('#chat'), rows = document.querySelectorAll('#chat .user-row');
  if (!rows.length) return;
  const row = rows[rows.length - 1]; let box = row.parentElement;
  while (box && box !== chat && !(/auto|scroll/.test(getComputedStyle(box).overflowY)
                                  && box.scrollHeight > box.clientHeight)) box = box.parentElement;
  if (box && box !== chat)
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top; }"""
# The button a phone shows in place of the filters (hidden on wider screens by CSS).
FILTERS_BUTTON = ('<button type="button" id="filters-toggle" aria-expanded="false" '
                  'aria-controls="filters">Filters</button>')
CSS = """
.gradio-container {max-width: 1100px !important; margin: auto; font-size: 16px;
  overflow: clip !important}  /* not hidden: that would hold the phone's sticky header */
#status {font-size: .9rem; opacity: .85}
.answer .lead {font-size: 1.05rem; font-weight: 600; line-height: 1.45; margin: 0 0 .2rem}
.answer .none {font-weight: 500}
.answer .meta {font-size: .875rem; color: var(--body-text-color); margin: 0 0 .6rem}
.answer a.cite {text-decoration: underline; font-weight: 600}
.answer ol.cards {list-style: none; padding: 0; margin: 0}
.answer li.card {border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: .6rem .8rem; margin: 0 0 .5rem; background: var(--background-fill-secondary)}
.card .card-title {font-weight: 600; line-height: 1.35}
.card .card-meta {font-size: .875rem; color: var(--body-text-color); margin: .1rem 0 .35rem}
.card .card-text {font-size: .92rem; line-height: 1.55}
/* Fixed colours on both sides: dark text on yellow passes WCAG AA in either theme. */
.card mark, .card mark * {background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 3px}
.answer li.card.flash {animation: flash 1.2s ease-out}
@keyframes flash {from {box-shadow: 0 0 0 4px #f59e0b} to {box-shadow: 0 0 0 0 transparent}}
:focus-visible, #question textarea:focus, .gradio-container input:focus {
  outline: 3px solid #2563eb !important; outline-offset: 2px}
/* Hints and small print at full text colour (AA in both themes), buttons' text on a darker fill. */
[data-testid=block-info], .info-text, .min_value, .max_value, .show-api, footer a {
  color: var(--body-text-color) !important; opacity: 1 !important}
[data-testid=block-info] {white-space: nowrap}  /* "As of", never "As / of" beside its hint */
button.primary {background: #c2410c !important; color: #fff !important}
#files .filename, #files .filename .stem {white-space: normal !important;
  overflow: visible !important; overflow-wrap: anywhere}  /* whole upload names, never "….txt" */
#chat .message, #chat .message * {overflow-wrap: anywhere}  /* long pastes and urls wrap */
/* The question box comes first to the keyboard (before the answers' links), second to the eye. */
#chat {order: -2} #progress {order: -1}
#progress .html-container {padding: 0 !important}
#progress-line {margin: 0; min-height: 1.4em; font-size: .9rem; color: var(--body-text-color)}
#filters-bar {display: none}
#filters-toggle {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .3rem .9rem; font-weight: 600; background: var(--background-fill-secondary);
  color: var(--body-text-color)}
#filters-toggle[aria-expanded=true] {background: var(--background-fill-primary)}
/* A phone: the header (title, collection, Filters) stays on screen; the filters sit under it,
   closed until asked for; adding articles and feeds stay below the chat. (Gradio scopes rules
   in @media to the page's insides: none here can style .gradio-container itself.) */
@media (max-width: 640px) {
  #header {position: sticky; top: 0; z-index: 20; background: var(--body-background-fill);
    padding: .2rem 0 .4rem; display: grid; grid-template-columns: 1fr auto; align-items: center}
  #header > #status {grid-column: 1 / -1; grid-row: 2}
  #header h2 {margin: 0; font-size: 1.25rem}
  #filters-bar {display: block}
  #main {flex-direction: column !important}
  #side {display: contents !important}
  #filters {order: -1; display: none !important}
  #main[data-filters-open] #filters {display: flex !important}
  #filters input {scroll-margin-top: 8rem}  /* focused from below: not under the header */
}
"""
