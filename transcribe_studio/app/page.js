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

  const start = () => {
    fixAll();
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["name", "aria-label", "download", "disabled"],
    });
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
