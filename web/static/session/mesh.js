// Peer connections: one per other participant (mesh, perfect negotiation) and one
// send-only connection to the server's recording peer. See docs/signaling.md.

const FAILED_GRACE_MS = 8000;

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
    const state = this.pc.connectionState;
    this.onState(this.peerId, state);
    if (state !== "failed" || this.closed) return;
    // First an ICE restart; if the link is still down after a grace period, start over.
    this.send({ type: "restart", peer: this.peerId });
    this.pc.restartIce();
    setTimeout(() => {
      if (!this.closed && this.pc.connectionState === "failed") this.reopen();
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

  /** Round-trip time, loss and the remote audio level, from getStats. */
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
    const loss = received + lost > 0 ? lost / (received + lost) : 0;
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
      // The server never offers: when this link fails, offer a new one (new files start).
      if (pc.connectionState === "failed" && !this.closed && this.pc === pc) {
        pc.close();
        setTimeout(() => this.open(), 1000);
      }
    };
    await pc.setLocalDescription();
    this.send({ type: "offer", to: "server", sdp: pc.localDescription.sdp });
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}
