// Live preview in the subscriber form (templates/_preview.html). As the admin types, the
// form goes to /admin/preview (after a short pause: one render per pause, not per key)
// and the frames are pointed at the new render. A choice made at once (a select, the
// colour, a checkbox) goes without the pause. Without this script, the Preview button
// does the same in a new tab.
const PAUSE_MS = 80;
// Controls whose every input event is one keystroke of something still being typed.
const TYPED = new Set(["text", "url", "email", "search", "number", "textarea"]);

// "Use the default" beside a colour: moving the picker unticks it (the picker's colour is
// then the one meant), and ticking it shows the default in the picker. These run before
// the form's listeners below ask for the preview (the target's own listeners come first).
for (const box of document.querySelectorAll("input[data-default-of]")) {
  const picker = document.getElementById(box.dataset.defaultOf);
  picker.addEventListener("input", () => {
    box.checked = false;
  });
  box.addEventListener("change", () => {
    if (box.checked) picker.value = box.dataset.colour;
  });
}

const section = document.getElementById("preview");
const button = section && section.querySelector("button[formaction]");
const form = button && button.form;

if (form) {
  const frames = section.querySelector("[data-frames]");
  const status = section.querySelector(".preview-status");
  let timer = 0;
  let sent = "";
  let busy = false; // a render asked for and not answered yet
  let again = false; // the form changed meanwhile: ask once more when it answers

  const say = (text, problem) => {
    status.textContent = text;
    status.classList.toggle("problem", Boolean(problem));
  };

  // One request at a time: a colour dragged through the picker asks for the render of
  // where it stopped, not one render per step queued behind the server's lock.
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    const body = new URLSearchParams(new FormData(form));
    body.set(button.name, button.value);
    const key = body.toString();
    if (key === sent) return;
    sent = key;
    busy = true;
    let response;
    let answer;
    try {
      response = await fetch(button.formAction, {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
      });
      answer = await response.json();
    } catch (error) {
      sent = "";
      say("The preview could not be updated: " + error.message, true);
      return;
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
    if (sent !== key) return; // a newer render is on its way
    if (!response.ok) {
      say("Not previewed: " + (answer.errors || []).join(" "), true);
      return;
    }
    for (const frame of frames.querySelectorAll("iframe[data-frame]")) {
      const url = answer.frames[frame.dataset.frame];
      frame.closest("figure").hidden = !url;
      if (url) {
        // Replaced, not a new src: no history entry per keystroke, and the frame keeps
        // showing the last render until the new one is there.
        frame.contentWindow.location.replace(url);
      }
    }
    frames.hidden = false;
    section.dataset.token = answer.token;
    say("", false);
  };

  const soon = (event) => {
    clearTimeout(timer);
    if (event.type === "input" && TYPED.has(event.target.type)) {
      timer = setTimeout(refresh, PAUSE_MS);
    } else {
      refresh();
    }
  };
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);

  for (const choice of section.querySelectorAll("[data-width]")) {
    choice.addEventListener("click", () => {
      for (const other of section.querySelectorAll("[data-width]")) {
        other.setAttribute("aria-pressed", String(other === choice));
      }
      frames.classList.toggle("phone", choice.dataset.width === "phone");
    });
  }
  section.querySelector("[data-live]").hidden = false;
  refresh();
}
