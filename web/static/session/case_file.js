// The case file beside the video: open documents inline, and save questionnaire answers
// without leaving the call (the form posts to the questionnaire page's own address; the
// answer is that page, from which the new result, version or errors are taken).

const $ = (id) => document.getElementById(id);
const panel = $("case-file");

function setUpDocuments() {
  const viewer = $("document-viewer");
  if (!viewer) return;
  const image = $("document-image");
  const frame = $("document-frame");
  let opener = null;
  for (const button of panel.querySelectorAll(".document-open")) {
    button.addEventListener("click", () => {
      opener = button;
      const { src, kind, label } = button.dataset;
      $("document-viewer-title").textContent = label;
      $("document-new-tab").href = src;
      image.hidden = kind !== "image";
      frame.hidden = kind === "image";
      if (kind === "image") {
        image.alt = label;
        image.src = src;
        frame.removeAttribute("src");
      } else {
        frame.src = src;
        image.removeAttribute("src");
      }
      viewer.hidden = false;
      viewer.focus();
    });
  }
  const close = () => {
    viewer.hidden = true;
    image.removeAttribute("src");
    frame.removeAttribute("src");
    if (opener) opener.focus();
  };
  $("document-close").addEventListener("click", close);
  viewer.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
}

function setUpQuestionnaire() {
  const form = panel.querySelector("form.q-answers");
  if (!form) return;
  const status = $("questionnaire-status");
  const errors = $("questionnaire-errors");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    errors.replaceChildren();
    status.textContent = "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const saved = response.ok && page.querySelector(".q-answers");
      if (saved) {
        form.querySelector("input[name=version]").value = page.querySelector(".q-answers input[name=version]").value;
        const result = page.querySelector(".q-result");
        if (result) $("questionnaire-result").replaceChildren(document.importNode(result, true));
        status.textContent = page.querySelector("main [role=status]")?.textContent.trim() || "";
      } else {
        const summary = page.querySelector("#q-errors");
        if (summary) errors.replaceChildren(document.importNode(summary, true));
        else errors.textContent = panel.dataset.failed;
      }
    } catch {
      errors.textContent = panel.dataset.failed;
    } finally {
      button.disabled = false;
    }
  });
}

if (panel) {
  setUpDocuments();
  setUpQuestionnaire();
}
