// Device check before joining: preview, microphone level, device choice, connectivity,
// and plain guidance when the browser denies permission or has no camera.

const $ = (id) => document.getElementById(id);

async function fillDevices(stream) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const current = Object.fromEntries(stream.getTracks().map((t) => [t.kind, t.getSettings().deviceId]));
  for (const [kind, select] of [["videoinput", $("camera")], ["audioinput", $("microphone")]]) {
    select.replaceChildren();
    for (const device of devices.filter((d) => d.kind === kind)) {
      const option = new Option(device.label || device.deviceId.slice(0, 8), device.deviceId);
      option.selected = device.deviceId === current[kind === "videoinput" ? "video" : "audio"];
      select.append(option);
    }
    select.disabled = select.options.length === 0;
  }
}

function meter(stream) {
  const audio = stream.getAudioTracks()[0];
  if (!audio) return () => {};
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream([audio])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let running = true;
  const tick = () => {
    if (!running) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    $("mic-level").value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    requestAnimationFrame(tick);
  };
  tick();
  return () => {
    running = false;
    context.close();
  };
}

/** Ask for camera and microphone (falling back to sound only), with guidance on failure. */
export async function openDevices(strings, choice = {}) {
  const guidance = $("media-guidance");
  guidance.hidden = true;
  const audio = choice.microphone ? { deviceId: { exact: choice.microphone } } : true;
  const video = choice.camera ? { deviceId: { exact: choice.camera } } : true;
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video });
  } catch (error) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio });
      guidance.textContent = strings["No camera found: you will join with sound only."];
      guidance.hidden = false;
      return stream;
    } catch (second) {
      const denied = error.name === "NotAllowedError" || second.name === "NotAllowedError";
      guidance.textContent = denied
        ? strings["Camera and microphone are blocked. Allow them in the browser's address bar, then reload. You can still join with sound only if the microphone is allowed."]
        : strings["No microphone found. Connect one, or join to follow the chat only."];
      guidance.hidden = false;
      return new MediaStream();
    }
  }
}

/** Fetch the session's connection settings (ICE servers, policy); null when unreachable. */
async function checkConnectivity(url, strings) {
  const status = $("connectivity");
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    status.textContent = strings["Connected to the server."];
    return await response.json();
  } catch (error) {
    status.textContent = strings["Cannot reach the server. Check the network and reload."];
    status.classList.add("error");
    return null;
  }
}

const wait = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

/** Milliseconds for a ping over the signalling WebSocket, or null when it is blocked. */
async function socketRoundTrip(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${path}`);
  try {
    const opened = new Promise((resolve) => {
      socket.onopen = () => resolve(true);
      socket.onerror = socket.onclose = () => resolve(false);
    });
    if (!(await Promise.race([opened, wait(5000, false)]))) return null;
    const started = performance.now();
    const answered = new Promise((resolve) => {
      socket.onmessage = (event) => JSON.parse(event.data).type === "pong" && resolve(true);
      socket.onclose = () => resolve(false);
    });
    socket.send(JSON.stringify({ type: "ping" }));
    if (!(await Promise.race([answered, wait(5000, false)]))) return null;
    return Math.round(performance.now() - started);
  } catch {
    return null;
  } finally {
    socket.close();
  }
}

/** Gather candidates with the session's ICE servers and connect a data channel to the
 * server's test peer: {types (host/srflx/relay found), connected}. */
async function mediaPathCheck(config, probeUrl, csrf) {
  const pc = new RTCPeerConnection({ iceServers: config.ice_servers, iceTransportPolicy: config.ice_transport_policy });
  const types = new Set();
  pc.onicecandidate = (event) => {
    if (event.candidate && event.candidate.type) types.add(event.candidate.type);
  };
  pc.createDataChannel("probe");
  try {
    await pc.setLocalDescription(await pc.createOffer());
    const gathered = new Promise((resolve) => {
      const check = () => pc.iceGatheringState === "complete" && resolve(true);
      pc.onicegatheringstatechange = check;
      check();
    });
    await Promise.race([gathered, wait(8000)]);
    const response = await fetch(probeUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ sdp: pc.localDescription.sdp }),
    });
    if (!response.ok) return { types, connected: false };
    await pc.setRemoteDescription(await response.json());
    const connected = new Promise((resolve) => {
      const check = () => {
        if (pc.connectionState === "connected") resolve(true);
        if (pc.connectionState === "failed") resolve(false);
      };
      pc.onconnectionstatechange = check;
      check();
    });
    return { types, connected: await Promise.race([connected, wait(10000, false)]) };
  } catch {
    return { types, connected: false };
  } finally {
    pc.close();
  }
}

function line(id, ok, text) {
  const item = document.createElement("li");
  item.id = id;
  item.dataset.ok = String(ok);
  item.textContent = `${ok ? "✓" : "✗"} ${text}`;
  $("connectivity-details").append(item);
}

/** The full check beside the device preview: signalling round trip, ICE candidates and a
 * test connection to the server, with plain guidance when something fails. */
async function connectionCheck(root, config, strings) {
  const ms = await socketRoundTrip(config.socket);
  line("check-socket", ms !== null, ms !== null
    ? strings["Live connection: {ms} ms round trip."].replace("{ms}", ms)
    : strings["Live connection: blocked."]);
  const { types, connected } = await mediaPathCheck(config, root.dataset.probe, root.dataset.csrf);
  const found = ["host", "srflx", "relay"].filter((type) => types.has(type));
  line("check-candidates", found.length > 0, found.length
    ? strings["Network paths found: {types}."].replace("{types}", found.join(", "))
    : strings["No network path found."]);
  $("check-candidates").dataset.types = found.join(",");
  line("check-media", connected, connected
    ? strings["Test call to the server: connected."]
    : strings["Test call to the server: failed."]);
  const advice = [];
  if (ms === null) advice.push(strings["The live connection (WebSocket) is blocked: ask your IT team to allow secure WebSockets to this site, or try another network."]);
  if (config.ice_transport_policy === "relay" && !types.has("relay")) advice.push(strings["No relay address was found: the TURN server cannot be reached. Tell the organisers of the interview."]);
  if (!connected) advice.push(strings["Sound and video may not get through from this network. Try another network (for example a phone's hotspot), or ask your IT team to allow UDP traffic to this server."]);
  const guidance = $("connectivity-guidance");
  guidance.textContent = advice.join(" ");
  guidance.hidden = advice.length === 0;
  $("connectivity-check").dataset.done = "true";
}

/** Run the device check; resolves with {stream, name, language, config} when the person joins. */
export async function prejoin(root, strings, saved) {
  const config = await checkConnectivity(root.dataset.config, strings);
  // Runs beside the device check; it advises and never holds up joining.
  if (config) connectionCheck(root, config, strings);
  let stream = await openDevices(strings, saved || {});
  let stopMeter = meter(stream);
  $("preview").srcObject = stream;
  await fillDevices(stream);
  const change = async () => {
    stopMeter();
    stream.getTracks().forEach((t) => t.stop());
    stream = await openDevices(strings, { camera: $("camera").value, microphone: $("microphone").value });
    stopMeter = meter(stream);
    $("preview").srcObject = stream;
  };
  $("camera").addEventListener("change", change);
  $("microphone").addEventListener("change", change);
  if (saved && config) {
    // A reload of a page that had joined: go straight back in with the same choices.
    stopMeter();
    return { stream, name: saved.name, language: saved.language, config };
  }
  // The button stays disabled until the devices and the server have been checked.
  $("join-button").disabled = !config;
  return new Promise((resolve) => {
    $("prejoin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!config) return;
      stopMeter();
      resolve({ stream, name: $("display-name").value.trim(), language: $("caption-language").value, config });
    });
  });
}
