// The subscriber pages' enhancements; every form works without them.
// Copy buttons: shown only here, they put a code or an address on the clipboard and say so.
const status = document.getElementById("copied");
for (const button of document.querySelectorAll("button.copy[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const text = source ? source.textContent : "";
    let done = false;
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch {
      // No clipboard here (plain http, or refused): select the text for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    if (status) {
      status.textContent = done ? "Copied." : "Selected: press Ctrl+C (⌘C) to copy.";
    }
    button.classList.toggle("done", done);
  });
}

// The new-subscriber form: the id the server would make from the name, shown as the id
// field's placeholder while the id is left empty (as the CLI suggests it).
const id = document.getElementById("f-id");
const name = document.getElementById("f-name");
if (id && name) {
  const suggest = () => {
    id.placeholder = name.value
      .normalize("NFKD")
      .replace(/[^\x00-\x7f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+/, "")
      .slice(0, 64)
      .replace(/-+$/, "");
  };
  name.addEventListener("input", suggest);
  suggest();
}

// After a refused save, the summary of what to fix takes the focus.
const errors = document.getElementById("form-errors");
if (errors) errors.focus();
