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

/** Check that the server answers and hand back the session's connection settings. */
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

/** Run the device check; resolves with {stream, name, language, config} when the person joins. */
export async function prejoin(root, strings, saved) {
  const config = await checkConnectivity(root.dataset.config, strings);
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
