// The live session page: device check, then the signalling socket, the lobby and the call.

import { captionPanel } from "./captions.js";
import { PeerLink, ServerLink } from "./mesh.js";
import { prejoin } from "./prejoin.js";

const $ = (id) => document.getElementById(id);
const root = $("session");
const strings = JSON.parse($("session-strings").textContent);
const t = (text) => strings[text] || text;
const interview = root.dataset.interview;
const storageKey = `consulink-session-${interview}`;
const FINAL_CLOSES = { 4403: "The host did not let you in.", 4409: "You joined from another window.", 4410: "The host ended the session.", 4412: "The interview was cancelled.", 4413: "This session already has five people, the most it can hold." };
// Why a session closed under everyone's feet (the `withdrawn` message).
const WITHDRAWN = { cancelled: "The interview was cancelled.", rescheduled: "The interview was moved to another time. Use the link in your newest invitation.", window_closed: "The time set aside for this interview is over: the session has closed." };

const state = { me: null, host: false, admitted: false, roster: [], links: new Map(), server: null, socket: null, retry: 0, leaving: false };

function show(section) {
  for (const id of ["join-open", "lobby", "call", "finished"]) $(id).hidden = id !== section;
}

function finish(reason) {
  state.leaving = true;
  for (const link of state.links.values()) link.close();
  state.links.clear();
  if (state.server) state.server.close();
  state.media.stream.getTracks().forEach((track) => track.stop());
  sessionStorage.removeItem(storageKey);
  $("finished-reason").textContent = t(reason);
  show("finished");
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function tile(peerId) {
  let figure = document.getElementById(`tile-${peerId}`);
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile";
    figure.id = `tile-${peerId}`;
    const video = document.createElement("video");
    video.className = "remote";
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    const quality = document.createElement("span");
    quality.className = "quality";
    figure.append(video, caption, quality);
    $("videos").append(figure);
  }
  return figure;
}

function renderPeople() {
  const people = $("participants");
  const waiting = $("waiting");
  const lobby = $("lobby-list");
  people.replaceChildren();
  waiting.replaceChildren();
  lobby.replaceChildren();
  for (const person of state.roster) {
    const line = document.createElement("li");
    const flags = [person.role, person.language];
    if (person.host) flags.push(t("(host)"));
    if (!person.audio) flags.push(t("muted"));
    if (!person.video) flags.push(t("camera off"));
    line.textContent = `${person.peer === state.me ? t("You") : person.name} · ${flags.join(" · ")}`;
    lobby.append(line.cloneNode(true));
    if (person.admitted) {
      people.append(line);
      if (person.peer !== state.me) tile(person.peer).querySelector("figcaption").textContent = person.name;
      continue;
    }
    if (state.host) {
      const admit = document.createElement("button");
      admit.type = "button";
      admit.textContent = t("Let in");
      admit.addEventListener("click", () => send({ type: "admit", peer: person.peer }));
      line.append(" ", admit);
      if (!person.invited) {
        const refuse = document.createElement("button");
        refuse.type = "button";
        refuse.textContent = t("Turn away");
        refuse.addEventListener("click", () => send({ type: "refuse", peer: person.peer }));
        line.append(" ", refuse);
      }
    }
    waiting.append(line);
  }
}

/** The link to a peer, made on first need: their offer may arrive before our roster does. */
function linkTo(peerId) {
  if (!state.links.has(peerId)) {
    state.links.set(peerId, new PeerLink({
      myId: state.me,
      peerId,
      config: state.media.config,
      stream: state.media.stream,
      send,
      onTrack: (id, stream) => { tile(id).querySelector("video").srcObject = stream; },
      onState: (id, connection) => { tile(id).dataset.state = connection; },
    }));
  }
  return state.links.get(peerId);
}

function connectPeers() {
  if (!state.admitted) return;
  const present = new Set(state.roster.filter((p) => p.admitted && p.peer !== state.me).map((p) => p.peer));
  // Of two peers only the impolite one (the later id) starts the connection; the polite
  // one makes its side when the offer arrives. Both offering at once (glare) is handled by
  // perfect negotiation in principle, but Chromium's implicit rollback of a pending offer
  // sometimes left the polite side gathering no candidates, and the pair never connected.
  for (const peerId of present) if (state.me > peerId) linkTo(peerId);
  for (const [peerId, link] of state.links) {
    if (!present.has(peerId)) {
      link.close();
      state.links.delete(peerId);
      document.getElementById(`tile-${peerId}`)?.remove();
    }
  }
}

function onRoster(message) {
  state.roster = message.participants;
  $("recording").hidden = !message.recording;
  const me = state.roster.find((p) => p.peer === state.me);
  state.admitted = Boolean(me && me.admitted);
  if (message.state === "open" && state.admitted) show("call");
  else {
    show("lobby");
    $("lobby-status").textContent = state.host ? "" : t(message.state === "open" ? "Waiting for the host to let you in." : "Waiting for the host to open the session.");
    $("host-controls").hidden = !state.host || message.state !== "lobby";
  }
  renderPeople();
  connectPeers();
}

async function onMessage(message) {
  if (state.captions?.handle(message)) return;
  switch (message.type) {
    case "welcome":
      if (state.me && state.me !== message.peer) {
        // Back after a dropped socket with a new peer id: the others now connect to that
        // id, so the connections made under the old one are of no use any more.
        for (const [peerId, link] of state.links) {
          link.close();
          document.getElementById(`tile-${peerId}`)?.remove();
        }
        state.links.clear();
      }
      state.me = message.peer;
      state.host = message.host;
      state.retry = 0;
      sessionStorage.setItem(storageKey, JSON.stringify({ name: state.media.name, language: state.media.language }));
      state.captions?.joined();
      break;
    case "roster":
      onRoster(message);
      break;
    case "connect":
      if (state.server) state.server.close();
      state.server = new ServerLink({ config: state.media.config, stream: state.media.stream, video: message.video, send });
      break;
    case "offer":
    case "answer":
      if (message.from === "server") await state.server?.answer(message.sdp);
      else await linkTo(message.from).description(message);
      break;
    case "candidate":
      if (message.from !== "server") await linkTo(message.from).candidate(message.candidate);
      break;
    case "media": {
      const person = state.roster.find((p) => p.peer === message.peer);
      if (person) Object.assign(person, { audio: message.audio, video: message.video });
      renderPeople();
      break;
    }
    case "chat": {
      const line = document.createElement("li");
      const who = document.createElement("strong");
      who.textContent = `${message.name}: `;
      line.append(who, message.text);
      $("chat-log").append(line);
      break;
    }
    case "withdrawn":
      finish(WITHDRAWN[message.reason] || WITHDRAWN.cancelled);
      break;
    case "error":
      console.warn("signalling", message.code, message.message);
      break;
    default:
      break;
  }
}

function openSocket(rejoin) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${state.media.config.socket}`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "join", name: state.media.name, language: state.media.language, consent_recording: true, rejoin }));
    const audio = state.media.stream.getAudioTracks()[0];
    const video = state.media.stream.getVideoTracks()[0];
    send({ type: "media", audio: Boolean(audio && audio.enabled), video: Boolean(video && video.enabled) });
  });
  // One message at a time: a candidate must not overtake the offer it belongs to.
  socket.addEventListener("message", (event) => {
    state.queue = (state.queue || Promise.resolve())
      .then(() => onMessage(JSON.parse(event.data)))
      .catch((error) => console.warn("message", error));
  });
  socket.addEventListener("close", (event) => {
    if (state.leaving) return;
    if (FINAL_CLOSES[event.code]) return finish(FINAL_CLOSES[event.code]);
    // Lost connection: come back to the same session (the server keeps it open).
    $("lobby-status").textContent = t("Reconnecting…");
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(() => openSocket(true), 1000 * state.retry);
  });
}

function toggle(kind, button, on, off) {
  const tracks = kind === "audio" ? state.media.stream.getAudioTracks() : state.media.stream.getVideoTracks();
  const enabled = !(tracks[0] && tracks[0].enabled);
  tracks.forEach((track) => { track.enabled = enabled; });
  button.setAttribute("aria-pressed", String(!enabled));
  button.textContent = t(enabled ? on : off);
  const audio = state.media.stream.getAudioTracks()[0];
  const video = state.media.stream.getVideoTracks()[0];
  send({ type: "media", audio: Boolean(audio && audio.enabled), video: Boolean(video && video.enabled) });
}

const LEVELS = [["good", 0.02, 300], ["fair", 0.08, 800]];

async function watchQuality() {
  let loudest = null;
  let loudness = 0.02;
  let tick = 0;
  setInterval(async () => {
    tick += 1;
    for (const [peerId, link] of state.links) {
      const { rtt, loss, level } = await link.quality();
      let name = "poor";
      // Stats keep their last figures while no packet arrives: say "lost" from the start.
      if (["disconnected", "failed"].includes(link.pc.connectionState)) name = "failed";
      else for (const [label, maxLoss, maxRtt] of LEVELS) if (loss <= maxLoss && (rtt === null || rtt <= maxRtt)) { name = label; break; }
      const figure = tile(peerId);
      figure.querySelector(".quality").textContent = t(`Connection: ${name === "failed" ? "lost" : name}`);
      if (level > loudness) { loudness = level; loudest = peerId; }
      if (tick % 10 === 0) send({ type: "quality", peer: peerId, level: name, rtt_ms: rtt, loss });
    }
    document.querySelectorAll(".tile").forEach((f) => f.classList.toggle("speaking", f.id === `tile-${loudest}`));
    loudest = null;
    loudness = 0.02;
  }, 1000);
}

async function main() {
  const saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
  state.media = await prejoin(root, strings, saved);
  $("local-video").srcObject = state.media.stream;
  state.captions = captionPanel({ send, language: state.media.language, storageKey: `consulink-captions-${interview}` });
  show("lobby");
  openSocket(Boolean(saved));
  $("open-session").addEventListener("click", () => send({ type: "open", record_video: $("record-video").checked }));
  $("toggle-mic").addEventListener("click", (e) => toggle("audio", e.currentTarget, "Mute", "Unmute"));
  $("toggle-camera").addEventListener("click", (e) => toggle("video", e.currentTarget, "Camera off", "Camera on"));
  $("leave").addEventListener("click", () => {
    send({ type: "leave" });
    finish("You");
  });
  $("end")?.addEventListener("click", () => send({ type: "end" }));
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-text").value.trim();
    if (text) send({ type: "chat", text });
    $("chat-text").value = "";
  });
  watchQuality();
}

main();
