// The caption panel of the call: turn captions on/off, choose the language to read them
// in, text size, and the captions themselves (speaker, original, translation), labelled as
// machine output. Captions arrive over the signalling socket (docs/signaling.md).

const $ = (id) => document.getElementById(id);
const KEEP = 60; // lines kept on screen; the transcript is on the server
const SIZES = ["normal", "large", "larger"];

const STATUS_TEXT = {
  delayed: "Captions are running behind the speech.",
  caught_up: "Captions have caught up.",
  dropped: "Some speech was not captioned: captions fell behind.",
  unsupported_language: "This speaker's language cannot be captioned on this server.",
};
const TRANSLATION_NOTICE = {
  missing: "No translation is installed for this language: showing the original.",
  failed: "The translation failed: showing the original.",
};

/** Wire the panel; `send` sends a signalling message. Returns the message handler. */
export function captionPanel({ send, language, storageKey }) {
  const strings = JSON.parse($("captions-strings").textContent);
  const t = (text) => strings[text] || text;
  const toggle = $("captions-toggle");
  const chooser = $("captions-language");
  const size = $("captions-size");
  const log = $("captions-log");
  const status = $("captions-status");
  const saved = JSON.parse(localStorage.getItem(storageKey) || "null") || {};
  const state = { on: Boolean(saved.on), language: saved.language || language, interims: new Map() };
  if (![...chooser.options].some((o) => o.value === state.language)) {
    chooser.append(new Option(state.language, state.language));
  }
  chooser.value = state.language;
  if (SIZES.includes(saved.size)) size.value = saved.size;

  function remember() {
    localStorage.setItem(storageKey, JSON.stringify({ on: state.on, language: state.language, size: size.value }));
  }

  function render() {
    toggle.setAttribute("aria-pressed", String(state.on));
    toggle.textContent = t(state.on ? "Turn captions off" : "Turn captions on");
    log.hidden = !state.on;
    for (const name of SIZES) log.classList.toggle(`size-${name}`, size.value === name);
  }

  function request() {
    send({ type: "captions", on: state.on, language: state.language });
  }

  toggle.addEventListener("click", () => {
    state.on = !state.on;
    status.textContent = t(state.on ? "Captions are on. They appear here when someone speaks." : "Captions are off.");
    remember();
    render();
    request();
  });
  chooser.addEventListener("change", () => {
    state.language = chooser.value;
    remember();
    if (state.on) request();
  });
  size.addEventListener("change", () => {
    remember();
    render();
  });
  render();

  function line(message) {
    const item = document.createElement("li");
    item.className = message.final ? "caption" : "caption interim";
    item.dataset.speaker = message.speaker;
    const who = document.createElement("strong");
    who.className = "speaker";
    who.textContent = `${message.name}: `;
    const original = document.createElement("span");
    original.className = "original";
    original.lang = message.language;
    original.textContent = message.text;
    item.append(who, original);
    if (!message.final) {
      const note = document.createElement("small");
      note.textContent = ` (${t("still speaking…")})`;
      item.append(note);
      return item;
    }
    const translation = message.translation;
    if (translation) {
      const translated = document.createElement("span");
      translated.className = "translation";
      translated.lang = translation.language;
      translated.textContent = translation.text;
      item.append(document.createElement("br"), translated);
      if (TRANSLATION_NOTICE[translation.status]) {
        const notice = document.createElement("small");
        notice.className = "caption-notice";
        notice.textContent = ` ${t(TRANSLATION_NOTICE[translation.status])}`;
        item.append(notice);
      }
    }
    const label = document.createElement("small");
    label.className = "machine";
    const machine = translation && translation.status === "translated" ? "machine translation" : "machine transcription";
    label.textContent = ` · ${t(machine)}${message.delayed ? ` · ${t("delayed")}` : ""}`;
    item.append(label);
    return item;
  }

  function show(message) {
    const previous = state.interims.get(message.speaker);
    const item = line(message);
    if (previous) previous.replaceWith(item); // the final replaces that speaker's interim
    else log.append(item);
    if (message.final) state.interims.delete(message.speaker);
    else state.interims.set(message.speaker, item);
    while (log.children.length > KEEP) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }

  return {
    /** After each join (and rejoin): the server starts every connection with captions off. */
    joined() {
      if (state.on) request();
    },
    /** A signalling message; true when it was a caption message. */
    handle(message) {
      switch (message.type) {
        case "caption":
          if (state.on) show(message);
          return true;
        case "caption_status":
          status.textContent = t(STATUS_TEXT[message.kind] || message.message);
          return true;
        case "captions":
          state.on = message.on;
          render();
          return true;
        case "error":
          if (message.in_reply_to !== "captions") return false;
          if (message.code === "captions_unavailable") {
            state.on = false;
            render();
            status.textContent = t("Captions are not available on this server.");
          } else status.textContent = message.message;
          return true;
        default:
          return false;
      }
    },
  };
}
