// The studio's page script, in the page's <head> (see layout.HEAD): keyboard and screen-reader fixes for
// Gradio's components that their options cannot make. Gradio draws (and redraws) the components after this
// runs, so each fix is applied to what is on the page whenever it changes.
(() => {
  const FILES_ID = "media-files", MESSAGE_ID = "job-message", TRANSCRIPT_ID = "transcript";

  function nameDownloadLinks(root) {
    // Gradio names each link by its text, the file's size ("93.8 KB ⇣"): a screen reader says only that.
    root.querySelectorAll("a[data-testid=download-link]").forEach((link) => {
      const size = link.innerText.replace(/[⇣↓]/g, "").trim();
      const name = `Download ${link.download}${size ? ` (${size})` : ""}`;
      if (link.download && link.getAttribute("aria-label") !== name) link.setAttribute("aria-label", name);
    });
  }

  function fixUploadMore(root) {
    // A File with files in it offers "upload more" as a button (named by an untranslated key) holding the real
    // upload button: one control, two tab stops, and nested buttons. The outer one becomes a plain group.
    root.querySelectorAll("button.upload-container.icon-mode").forEach((inner) => {
      const outer = inner.parentElement && inner.parentElement.closest("button");
      if (outer && outer.getAttribute("role") !== "group") {
        outer.setAttribute("role", "group");
        outer.setAttribute("tabindex", "-1");
        outer.removeAttribute("aria-label");
        outer.setAttribute("title", "Add more files");
      }
      if (inner.getAttribute("aria-label") !== "Add more files") inner.setAttribute("aria-label", "Add more files");
    });
  }

  function fixRadioGroups(root) {
    // Gradio gives each radio of a group its own name: each is then a tab stop and the arrow keys do not move
    // between them. One name per group makes it one tab stop, as a radio group is.
    root.querySelectorAll("fieldset").forEach((group) => {
      const radios = group.querySelectorAll("input[type=radio]");
      if (radios.length < 2) return;
      const name = radios[0].name;
      radios.forEach((radio) => { if (radio.name !== name) radio.name = name; });
    });
  }

  function fixLabels(root) {
    // The lock icon of a static Dataframe column carries aria-label on a div with no role (not announced).
    root.querySelectorAll('div[aria-label="Static column"]:not([role])').forEach((icon) => icon.setAttribute("role", "img"));
    // The job's message says how a job goes and how it ended: read out when it changes.
    const message = document.getElementById(MESSAGE_ID);
    if (message && message.getAttribute("role") !== "status") {
      message.setAttribute("role", "status");
      message.setAttribute("aria-live", "polite");
    }
  }

  function fixTranscript() {
    // A read-only Textbox is a disabled <textarea>: out of the tab order (a long transcript cannot be scrolled or
    // read by keyboard) and unnamed (its label also holds the Copy button). Read-only keeps it focusable.
    const box = document.querySelector(`#${TRANSCRIPT_ID} textarea`);
    if (!box) return;
    if (box.disabled) { box.disabled = false; box.readOnly = true; }
    if (box.getAttribute("aria-label") !== "Transcript") box.setAttribute("aria-label", "Transcript");
  }

  function fixAll() {
    const count = document.getElementById("doubt-count");
    if (count && !count.textContent && window.studioEditor) window.studioEditor.countDoubts(null);
    if (window.studioEditor) window.studioEditor.markRows();
    fixTranscript();
    nameDownloadLinks(document);
    fixUploadMore(document);
    fixRadioGroups(document);
    fixLabels(document);
  }

  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; fixAll(); });
  }

  // Enter on a drop zone: Chromium opens no file dialog for the click that Enter makes on keydown (Space,
  // which clicks on keyup, works), so Enter clicks on keyup too.
  let enterOn = null;
  document.addEventListener("keydown", (event) => {
    const zone = event.target.closest && event.target.closest("button.upload-container");
    if (event.key === "Enter" && zone && !event.repeat && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      enterOn = zone;
    }
  }, true);
  document.addEventListener("keyup", (event) => {
    if (event.key === "Enter" && enterOn && event.target.closest && event.target.closest("button.upload-container") === enterOn) {
      event.preventDefault();
      enterOn.click();
    }
    if (event.key === "Enter") enterOn = null;
  }, true);

  // After the file dialog the drop zone is gone (the list of files takes its place) and focus would fall to the
  // page: it goes to the last file chosen, in that list, so the next Tab goes on to the model and Transcribe.
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.files || !input.files.length) return;
    const block = input.closest(`#${FILES_ID}`);
    if (!block) return;
    const names = [...input.files].map((file) => file.name);
    const deadline = Date.now() + 60000;
    const settle = () => {
      const lost = !document.activeElement || document.activeElement === document.body
        || !document.activeElement.isConnected || block.contains(document.activeElement);
      const links = [...block.querySelectorAll("a[data-testid=download-link]")];
      const chosen = links.filter((link) => names.includes(link.download));
      if (lost && chosen.length) {
        nameDownloadLinks(block);
        chosen[chosen.length - 1].focus();
      } else if (lost && Date.now() < deadline) {
        setTimeout(settle, 100);
      }
    };
    setTimeout(settle, 100);
  }, true);

  // The editor: the words to check (marked in the read-along by views.py, moved here when the threshold
  // moves), "next/previous to check", and keys that drive the player. The keys take Alt with letters no
  // browser menu uses, matched by the physical key, so they work while typing in a cell without typing
  // anything there (on a Mac, where Option types characters, Control+Option while typing).
  const PLAYER_ID = "recording-player", WORDS_ID = "read-along", COUNT_ID = "doubt-count", DOUBT = "doubt";
  const SPEED_ID = "player-speed";
  const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
  const player = () => document.getElementById(PLAYER_ID);
  const words = () => [...document.querySelectorAll(`#${WORDS_ID} span[data-t]`)];
  const doubts = () => words().filter((w) => w.classList.contains(DOUBT));
  const say = (text) => { const count = document.getElementById(COUNT_ID); if (count) count.textContent = text; };

  function countDoubts(current) {
    const all = doubts(), at = all.indexOf(current);
    if (!all.length) { say(words().length ? "No words to check at this threshold." : ""); return; }
    const left = at < 0 ? all.length : all.length - at - 1;
    say(at < 0 ? `${all.length} word${all.length > 1 ? "s" : ""} to check.`
      : `Word ${at + 1} of ${all.length} to check: ${current.title.replace(/^Check: /, "")}. ${left} left after it.`);
  }

  // The segments table marks each segment holding a word to check (a bar, not a background: the background is
  // the playhead's). Its rows are drawn only while on screen, so the marks are put back whenever it redraws.
  const SEGMENTS_ID = "segments-table", MARK = "inset 5px 0 0 #b45309";
  let markedRows = new Set(), markedKey = null;

  function segmentStarts() {
    const audio = player();
    return audio ? JSON.parse(audio.dataset.starts || "[]") : [];
  }

  function rowOf(word, starts) {
    const t = +word.dataset.t;
    let row = 0;
    starts.forEach((s, i) => { if (s <= t) row = i; });
    return row;
  }

  function markRows() {
    // Worked out again whenever the segments or the words to check change (an edit, a replace, another
    // transcript, the threshold); only put back on the rows drawn otherwise.
    const audio = player(), all = doubts();
    const key = `${audio ? audio.dataset.starts : ""}|${all.map((w) => w.dataset.i).join(",")}`;
    if (key !== markedKey) {
      const starts = segmentStarts();
      markedRows = new Set(all.map((w) => rowOf(w, starts)));
      markedKey = key;
    }
    document.querySelectorAll(`#${SEGMENTS_ID} [data-testid^=cell-]`).forEach((cell) => {
      const [, row, column] = cell.dataset.testid.split("-");
      const mark = column === "2" && markedRows.has(+row) ? MARK : "";
      if (cell.style.boxShadow !== mark) cell.style.boxShadow = mark;
    });
  }

  function markDoubts(threshold) {
    words().forEach((word) => {
      const confidence = word.dataset.c === undefined ? null : +word.dataset.c;
      const low = confidence !== null && confidence < threshold;
      const why = low ? `confidence ${confidence.toFixed(2)}`
        : word.dataset.n ? "not heard by the timing pass (its time is estimated)" : "";
      word.classList.toggle(DOUBT, !!why);
      if (why) word.title = `Check: ${why}`; else word.removeAttribute("title");
    });
    markRows();
    countDoubts(null);
  }

  function pick(word) {
    // The word becomes the words' tab stop (Tab reaches it) and is outlined; the focus stays where it is (the
    // cell being typed in, the button pressed). It is scrolled to in the words and in the segments table, and
    // the page itself does not move.
    words().forEach((w) => { if (w !== word) w.removeAttribute("tabindex"); w.classList.remove("picked"); });
    word.tabIndex = 0;
    word.classList.add("picked");
    scrollWithin(word.parentElement, word.getBoundingClientRect());
    const starts = segmentStarts(), table = scrollingPart(document.getElementById(SEGMENTS_ID));
    if (table && starts.length > 1) {  // its rows are drawn only near the view: scrolled to by proportion
      table.scrollTop = (rowOf(word, starts) / starts.length) * table.scrollHeight - table.clientHeight / 3;
    }
  }

  function scrollWithin(box, target) {
    if (!box) return;
    const frame = box.getBoundingClientRect();
    box.scrollTop += target.top - frame.top - box.clientHeight / 2 + target.height / 2;
  }

  function scrollingPart(root) {
    if (!root) return null;
    return [root, ...root.querySelectorAll("*")].find((e) => e.scrollHeight > e.clientHeight + 4
      && /(auto|scroll)/.test(getComputedStyle(e).overflowY)) || null;
  }

  function nextDoubt(step) {
    const all = doubts(), audio = player();
    if (!all.length || !audio) { countDoubts(null); return; }
    const picked = document.querySelector(`#${WORDS_ID} span.picked`), now = audio.currentTime;
    // From the word picked last (clicked, or reached by these keys), else from the playhead.
    const after = picked ? (w) => +w.dataset.i > +picked.dataset.i : (w) => +w.dataset.t >= now;
    const ahead = step > 0 ? all.filter(after) : all.filter((w) => w !== picked && !after(w)).reverse();
    const target = ahead[0];
    if (!target) {
      const from = picked ? "this word" : "the playhead";
      say(step > 0 ? `No more words to check after ${from}.` : `No words to check before ${from}.`);
      return;
    }
    pick(target);
    audio.currentTime = Math.max(0, +target.dataset.t - 1);  // a second before it: the word in its context
    audio.play().catch(() => {});
    countDoubts(target);
  }

  function setSpeed(audio, step) {
    const at = SPEEDS.findIndex((s) => s >= audio.playbackRate - 0.01);
    audio.playbackRate = SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, (at < 0 ? 2 : at) + step))];
    const speed = document.getElementById(SPEED_ID);
    if (speed) speed.textContent = audio.playbackRate === 1 ? "" : `Playing at ${audio.playbackRate}x.`;
  }

  const KEYS = {
    KeyK: (audio) => { if (audio.paused) audio.play().catch(() => {}); else audio.pause(); },
    KeyJ: (audio) => { audio.currentTime = Math.max(0, audio.currentTime - 5); },
    KeyL: (audio) => { audio.currentTime = Math.min(audio.duration || Infinity, audio.currentTime + 5); },
    Comma: (audio) => setSpeed(audio, -1),
    Period: (audio) => setSpeed(audio, 1),
    KeyM: (audio, shift) => nextDoubt(shift ? -1 : 1),
  };
  const MAC = /Mac|iPhone|iPad/.test(navigator.platform || "");
  const typingIn = (element) => element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  document.addEventListener("keydown", (event) => {
    const action = KEYS[event.code], audio = player();
    if (!action || !event.altKey || event.metaKey || !audio) return;
    // Elsewhere Control+Alt is AltGr, which types letters ("ł", "€"): those are left to the typing.
    if (event.ctrlKey && !MAC) return;
    // A Mac's Option types characters ("@" is Option+L on a German Mac): where one types, the keys take
    // Control+Option, which types nothing.
    if (MAC && !event.ctrlKey && typingIn(event.target)) return;
    event.preventDefault();
    event.stopPropagation();
    action(audio, event.shiftKey);
  }, true);
  // A time in the list of places Find found plays the recording from there.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('#find-results a[href^="#t="]'), audio = player();
    if (!link || !audio) return;
    event.preventDefault();
    audio.currentTime = +link.getAttribute("href").slice(3);
    audio.play().catch(() => {});
  }, true);
  // A click on a word picks it (where "next to check" goes on from).
  document.addEventListener("click", (event) => {
    const word = event.target.closest && event.target.closest(`#${WORDS_ID} span[data-t]`);
    if (word) { pick(word); countDoubts(word.classList.contains(DOUBT) ? word : null); }
  }, true);
  window.studioEditor = { markDoubts, nextDoubt, countDoubts, markRows };

  const start = () => {
    fixAll();
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["name", "aria-label", "download", "disabled"],
    });
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
