// Playback of a recorded session: every track on one timeline that starts when the session
// opened. Each <audio>/<video> carries its offset on that timeline; a playing track leads
// the clock (so the position is what is heard), and the wall clock carries it across gaps
// where nobody was recorded, and holds while a track that should play is still loading.
// The transcript line under the playhead is highlighted, from the WebVTT <track> cues once
// loaded (else from the list's own times).

const HOLD_MS = 5000;
const root = document.getElementById("playback");
if (root) {
  start(root);
}

function start(root) {
  const strings = JSON.parse(document.getElementById("playback-strings").textContent);
  const media = [...root.querySelectorAll("[data-track]")].map((element) => ({
    element,
    offset: Number(element.dataset.offsetMs) / 1000,
    // Until the file's own duration is known: the server's figure, or open-ended.
    known: Number(element.dataset.durationMs) > 0 ? Number(element.dataset.durationMs) / 1000 : Infinity,
  }));
  const playButton = document.getElementById("play");
  const seek = document.getElementById("seek");
  const output = document.getElementById("position");
  const items = [...document.querySelectorAll("#transcript [data-cue]")];
  let cues = items.map((item) => ({
    id: item.dataset.cue,
    start: Number(item.dataset.startMs) / 1000,
    end: Number(item.dataset.endMs) / 1000,
  }));
  let length = Number(root.dataset.lengthMs) / 1000;
  let position = 0;
  let playing = false;
  let lastTick = performance.now();
  let current = null;
  let holdingSince = 0;

  const duration = (track) =>
    Number.isFinite(track.element.duration) ? track.element.duration : track.known;
  const within = (track, t) => t >= track.offset && t < track.offset + duration(track);

  for (const track of media) {
    track.element.controls = false;
    track.element.addEventListener("loadedmetadata", () => {
      const end = track.offset + duration(track);
      if (Number.isFinite(end) && end > length) {
        length = end;
        seek.max = length.toFixed(1);
      }
    });
    for (const trackElement of track.element.querySelectorAll("track")) {
      const useCues = () => {
        const list = trackElement.track.cues;
        if (list && list.length) {
          cues = [...list].map((cue) => ({ id: cue.id, start: cue.startTime, end: cue.endTime }));
        }
      };
      trackElement.track.mode = "hidden"; // loads the cues; the page shows the list itself
      trackElement.addEventListener("load", useCues);
      useCues();
    }
  }

  function label(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }

  function sync(hard) {
    for (const track of media) {
      const element = track.element;
      if (!within(track, position)) {
        if (!element.paused) element.pause();
        continue;
      }
      const local = position - track.offset;
      if (hard || Math.abs(element.currentTime - local) > (playing ? 0.35 : 0.05)) {
        element.currentTime = local;
      }
      if (playing && element.paused) {
        element.play().catch(() => {});
      } else if (!playing && !element.paused) {
        element.pause();
      }
    }
  }

  function dimIdle() {
    // A participant with nothing recorded at this moment (not yet joined, or gone).
    for (const figure of root.querySelectorAll("figure")) {
      const active = media.some((t) => figure.contains(t.element) && within(t, position));
      figure.classList.toggle("idle", !active);
    }
  }

  function highlight() {
    const found = cues.find((cue) => position >= cue.start && position < cue.end);
    const item = found ? items.find((li) => li.dataset.cue === String(found.id)) : null;
    if (item === current) return;
    if (current) {
      current.classList.remove("current");
      current.removeAttribute("aria-current");
    }
    current = item;
    if (item) {
      item.classList.add("current");
      item.setAttribute("aria-current", "true");
      item.scrollIntoView({ block: "nearest" });
    }
  }

  function show() {
    if (document.activeElement !== seek) seek.value = position.toFixed(1);
    output.textContent = `${label(position)} / ${label(length)}`;
    output.dataset.seconds = position.toFixed(2);
    dimIdle();
    highlight();
  }

  function tick() {
    const now = performance.now();
    if (playing) {
      const here = media.filter((t) => within(t, position) && !t.element.error);
      // Hold the clock while a track that should sound now is still loading (nothing is
      // fetched before Play: preload="none"), so no one's first words are skipped; give up
      // on a track that has not loaded in HOLD_MS rather than stall everyone.
      // A track given up on is waited for again only once it has loaded (a later seek).
      for (const t of here) if (t.element.readyState >= 3) t.late = false;
      const loading = here.filter((t) => t.element.readyState < 3 && !t.element.ended && !t.late);
      if (loading.length && !holdingSince) holdingSince = now;
      if (loading.length && now - holdingSince < HOLD_MS) {
        for (const t of here) {
          if (t.element.preload !== "auto") {
            t.element.preload = "auto";
            if (t.element.readyState === 0) t.element.load();
          }
          if (!t.element.paused) t.element.pause();
        }
      } else {
        for (const t of loading) t.late = true;
        holdingSince = 0;
        const leader = here.find(
          (t) => !t.element.paused && !t.element.seeking && t.element.readyState >= 3,
        );
        position = leader
          ? leader.offset + leader.element.currentTime
          : position + (now - lastTick) / 1000; // nobody recorded now: carry on by the clock
        if (position >= length) {
          position = length;
          setPlaying(false);
        }
        sync(false);
      }
    }
    lastTick = now;
    show();
  }

  function setPlaying(value) {
    playing = value;
    playButton.textContent = playing ? strings.Pause : strings.Play;
    playButton.setAttribute("aria-pressed", String(playing));
    lastTick = performance.now();
    sync(true);
  }

  function seekTo(seconds) {
    position = Math.min(Math.max(0, seconds), length);
    sync(true);
    show();
  }

  playButton.addEventListener("click", () => {
    if (!playing && position >= length) position = 0;
    setPlaying(!playing);
  });
  seek.addEventListener("input", () => seekTo(Number(seek.value)));
  for (const button of document.querySelectorAll("#transcript [data-seek-ms]")) {
    button.addEventListener("click", () => {
      seekTo(Number(button.dataset.seekMs) / 1000);
      if (!playing) setPlaying(true);
    });
  }
  setInterval(tick, 100);
  show();
}
