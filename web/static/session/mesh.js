// Peer connections: one per other participant (mesh, perfect negotiation) and one
// send-only connection to the server's recording peer. See docs/signaling.md.

// Chromium says "disconnected" after about 5 s without packets and "failed" only about
// 10 s later; a short drop recovers by itself, a longer one needs new paths (a network
// change), so recovery starts once a connection has been disconnected this long.
const DISCONNECTED_GRACE_MS = 2000;
const FAILED_GRACE_MS = 8000;

/** Both sides' ICE user fragments: they change when either side restarts ICE. */
const iceCredentials = (pc) =>
  [pc.localDescription, pc.remoteDescription].map((d) => d?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1]).join(" ");

/** A connection to another browser; the peer whose id sorts first is polite. */
export class PeerLink {
  constructor({ myId, peerId, config, stream, send, onTrack, onState }) {
    this.peerId = peerId;
    this.polite = myId < peerId;
    this.config = config;
    this.stream = stream;
    this.send = send;
    this.onTrack = onTrack;
    this.onState = onState;
    this.closed = false;
    this.open();
  }

  open() {
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.state = "new";
    const pc = new RTCPeerConnection({
      iceServers: this.config.ice_servers,
      iceTransportPolicy: this.config.ice_transport_policy,
    });
    this.pc = pc;
    for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.send({ type: pc.localDescription.type, to: this.peerId, sdp: pc.localDescription.sdp });
      } catch (error) {
        console.warn("negotiation", error);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      this.send({ type: "candidate", to: this.peerId, candidate: candidate ? candidate.toJSON() : null });
    };
    pc.ontrack = ({ streams, track }) => this.onTrack(this.peerId, streams[0] || new MediaStream([track]));
    pc.onconnectionstatechange = () => this.watch();
  }

  watch() {
    const pc = this.pc;
    const [was, state] = [this.state, pc.connectionState];
    this.state = state;
    this.onState(this.peerId, state);
    if (this.closed) return;
    if (state === "failed") this.restart();
    if (state !== "disconnected" || was !== "connected") return;
    // Restart ICE unless the link came back or either side restarted meanwhile. The polite
    // side waits twice as long, so the two rarely restart at once (perfect negotiation
    // would still sort that out).
    const credentials = iceCredentials(pc);
    setTimeout(() => {
      const unchanged = iceCredentials(pc) === credentials;
      if (!this.closed && this.pc === pc && pc.connectionState === "disconnected" && unchanged) this.restart();
    }, DISCONNECTED_GRACE_MS * (this.polite ? 2 : 1));
  }

  /** An ICE restart; if the link is still failed after a grace period, start over. */
  restart() {
    const pc = this.pc;
    this.send({ type: "restart", peer: this.peerId });
    pc.restartIce();
    setTimeout(() => {
      if (!this.closed && this.pc === pc && pc.connectionState === "failed") this.reopen();
    }, FAILED_GRACE_MS);
  }

  reopen() {
    this.pc.close();
    this.open();
  }

  async description({ type, sdp }) {
    const pc = this.pc;
    const collision = type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    await pc.setRemoteDescription({ type, sdp });
    if (type === "offer") {
      await pc.setLocalDescription();
      this.send({ type: "answer", to: this.peerId, sdp: pc.localDescription.sdp });
    }
  }

  async candidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate || undefined);
    } catch (error) {
      if (!this.ignoreOffer) console.warn("candidate", error);
    }
  }

  /** Round-trip time, loss since the last call and the remote audio level, from getStats. */
  async quality() {
    const report = await this.pc.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    let level = 0;
    report.forEach((stat) => {
      if (stat.type === "candidate-pair" && stat.nominated && stat.currentRoundTripTime !== undefined) {
        rtt = stat.currentRoundTripTime * 1000;
      }
      if (stat.type === "inbound-rtp") {
        lost += stat.packetsLost || 0;
        received += stat.packetsReceived || 0;
        if (stat.kind === "audio" && stat.audioLevel !== undefined) level = stat.audioLevel;
      }
    });
    // Loss since the last reading, not over the call's lifetime: after an outage the tile
    // recovers as soon as packets flow again. Counters restart with a new connection.
    const [lastLost, lastReceived] = this.lastCounts && this.lastCounts.pc === this.pc ? this.lastCounts.counts : [0, 0];
    this.lastCounts = { pc: this.pc, counts: [lost, received] };
    const [newLost, newReceived] = [Math.max(0, lost - lastLost), Math.max(0, received - lastReceived)];
    const loss = newReceived + newLost > 0 ? newLost / (newReceived + newLost) : 0;
    return { rtt, loss, level };
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}

/** The send-only connection that lets the server record this participant. */
export class ServerLink {
  constructor({ config, stream, video, send }) {
    this.config = config;
    this.stream = stream;
    this.video = video;
    this.send = send;
    this.closed = false;
    this.open();
  }

  async open() {
    const pc = new RTCPeerConnection({
      iceServers: this.config.ice_servers,
      iceTransportPolicy: this.config.ice_transport_policy,
    });
    this.pc = pc;
    for (const track of this.stream.getTracks()) {
      if (track.kind === "audio" || this.video) pc.addTransceiver(track, { direction: "sendonly" });
    }
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send({ type: "candidate", to: "server", candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") this.reopen(pc);
      if (pc.connectionState !== "disconnected") return;
      setTimeout(() => {
        if (pc.connectionState === "disconnected") this.reopen(pc);
      }, DISCONNECTED_GRACE_MS);
    };
    await pc.setLocalDescription();
    this.send({ type: "offer", to: "server", sdp: pc.localDescription.sdp });
  }

  /** The server never offers and aiortc cannot restart ICE: offer a new link (new files start). */
  reopen(pc) {
    if (this.closed || this.pc !== pc || pc.connectionState === "closed") return;
    pc.close();
    setTimeout(() => this.open(), 1000);
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}
