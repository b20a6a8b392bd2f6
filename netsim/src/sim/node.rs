//! Events at one node, run by the worker that holds it: the core is fed, and its
//! actions become events at this node, messages to other nodes (which land after the
//! window), or records for the window's end.

use std::net::{SocketAddr, SocketAddrV4};

use bitcoin::hashes::Hash;
use weft::p2p::chain_view::{Job, JobResult};
use weft::p2p::{Action, Event, PeerId, Time};
use weft_transports::{Command, ConnInfo, Direction, Message, RemoteId, TrafficClass};

use super::part::{locate, model_state, Deferred, Outgoing, Part, Record, Slot};
use super::{Ev, Shared, TRACE_FULL_PAYLOAD};
use crate::cost::job_cost;
use crate::link::{endpoint_id, node_addr_for, node_ip, serialization_us, Transport, PORT};
use crate::metrics::TraceKind;
use crate::observe::observe_inv;

/// A worker's view while it runs one of its nodes: the shared state read-only, its own part.
pub(super) struct Ctx<'a> {
    pub(super) sh: &'a Shared,
    pub(super) part: &'a mut Part,
}

impl Ctx<'_> {
    /// Node `n`'s slot; `n` must be in this part.
    pub(super) fn slot(&mut self, n: u32) -> &mut Slot {
        &mut self.part.slots[locate(n, self.sh.parts).1]
    }

    /// Schedules `ev` for node `to`, made by node `from`.
    pub(super) fn schedule(&mut self, from: u32, to: u32, at: Time, ev: Ev) {
        let tie = self.slot(from).next_tie(from);
        let dest = locate(to, self.sh.parts).0;
        if dest == locate(from, self.sh.parts).0 {
            self.part.sched.at(at, tie, ev);
        } else if let Some((batch, next)) = self.part.out.get_mut(dest) {
            batch.push(Outgoing { at, tie, ev });
            *next = Some(next.map_or(at, |n| n.min(at)));
        }
    }

    /// Writes down something for the window's end.
    pub(super) fn defer(&mut self, node: u32, at: Time, what: Deferred) {
        let tie = self.slot(node).next_tie(node);
        self.part.records.push(Record { at, tie, node, what });
    }

    /// Adds an event to node `n`'s trace.
    pub(super) fn trace(&mut self, at: Time, n: u32, kind: TraceKind, parts: &[&[u8]]) {
        self.part.tally.events += 1;
        self.slot(n).trace.record(at, n, kind, parts);
    }

    /// Runs every event of this part before `end`.
    pub(super) fn run_window(&mut self, end: Time) {
        self.part.take_mail(&self.sh.mail);
        if let Some(last) = end.0.checked_sub(1) {
            self.part.last = Time(last);
            while let Some((now, ev)) = self.part.sched.pop_until(Time(last)) {
                self.handle(now, ev);
            }
        }
        self.part.post_mail(&self.sh.mail);
    }

    fn handle(&mut self, now: Time, ev: Ev) {
        let dyns = &self.sh.dynamics;
        let node = match ev {
            Ev::Timer(n) => {
                if self.slot(n).timer_at != Some(now) || !dyns.online(n) {
                    // Superseded by a later reschedule.
                    return;
                }
                self.slot(n).timer_at = None;
                self.trace(now, n, TraceKind::Timer, &[]);
                self.slot(n).core.handle_timeout(now);
                n
            }
            Ev::Arrive {
                link,
                from,
                to,
                msg,
                wire,
            } => {
                let slot = self.slot(to);
                let done = Time(slot.download_free.max(now).0 + serialization_us(wire, slot.download_mbps));
                slot.download_free = done;
                let tie = slot.next_tie(to);
                let deliver = Ev::Deliver { link, from, to, msg };
                // Usually nothing else comes first: then delivering here is what the
                // queue would do next.
                if self.part.sched.run_now(done, tie, self.part.last) {
                    self.handle(done, deliver);
                } else {
                    self.part.sched.at(done, tie, deliver);
                }
                return;
            }
            Ev::Deliver { link, from, to, msg } => {
                if dyns.is_cut(link) || !dyns.online(to) {
                    return;
                }
                self.deliver(now, link, from, to, msg);
                to
            }
            Ev::Connected { link, node } if dyns.is_cut(link) || !dyns.online(node) => {
                match self.connect_cut(now, link, node) {
                    Some(n) => n,
                    None => return,
                }
            }
            Ev::Connected { link, node } => self.on_connected(now, link, node),
            Ev::ConnectFailed { node, .. } | Ev::Disconnected { node, .. } if !dyns.online(node) => return,
            Ev::ConnectFailed { node, addr } => {
                self.trace(now, node, TraceKind::ConnectFailed, &[addr.host.as_bytes()]);
                let error = "connection refused".to_string();
                self.slot(node).core.handle(now, Event::ConnectFailed { addr, error });
                node
            }
            Ev::Disconnected { link, node } => {
                self.trace(now, node, TraceKind::Disconnected, &[&link.to_le_bytes()]);
                let reason = "peer closed the connection".to_string();
                let peer = PeerId(link);
                self.slot(node).core.handle(now, Event::Disconnected { peer, reason });
                node
            }
            Ev::JobDone { node, epoch, .. } if epoch != dyns.epoch(node) || !dyns.online(node) => return,
            Ev::JobDone { node, job, .. } => self.on_job_done(now, node, job),
        };
        self.after_core(node, now);
    }

    fn deliver(&mut self, now: Time, link: u64, from: u32, to: u32, msg: Message) {
        if msg.command.as_str() == "inv" {
            let w = self.sh.world.read();
            let (part, i) = (&mut *self.part, locate(to, self.sh.parts).1);
            let Slot { core, mirror, seen, .. } = &mut part.slots[i];
            let st = model_state(core, mirror);
            let spies = &self.sh.observer.spies;
            let listens = spies.is_spy(to) && !spies.is_spy(from);
            let mut heard = Vec::new();
            observe_inv(&w, st, seen, &msg.payload, &mut part.tally, |tx| {
                if listens {
                    heard.push(tx);
                }
            });
            for tx in heard {
                self.defer(to, now, Deferred::Heard { from, tx });
            }
        }
        let p = &msg.payload;
        let head = if p.len() <= TRACE_FULL_PAYLOAD {
            &p[..]
        } else {
            &p[..80]
        };
        let parts: [&[u8]; 4] = [
            &link.to_le_bytes(),
            msg.command.as_str().as_bytes(),
            &(p.len() as u64).to_le_bytes(),
            head,
        ];
        self.trace(now, to, TraceKind::Message, &parts);
        self.slot(to).core.handle(
            now,
            Event::Message {
                peer: PeerId(link),
                msg,
            },
        );
    }

    fn on_connected(&mut self, now: Time, link: u64, node: u32) -> u32 {
        let l = &self.sh.links[link as usize];
        let outbound = node == l.a;
        let other = l.peer_of(node);
        // The listener sees the dialer from an ephemeral port.
        let port = if outbound {
            PORT
        } else {
            49_152 + (link % 16_384) as u16
        };
        let remote = SocketAddr::V4(SocketAddrV4::new(node_ip(other), port));
        let remote_id = match l.transport {
            Transport::Iroh { .. } => RemoteId::IrohEndpoint(endpoint_id(other)),
            _ => RemoteId::Addr(remote),
        };
        let info = ConnInfo {
            kind: l.transport.kind(),
            direction: if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            remote_id,
            remote_addr: Some(remote),
            local_addr: None,
            session_id: None,
        };
        let dialed = outbound.then(|| node_addr_for(other, l.transport.scheme()));
        l.mark_up(usize::from(!outbound));
        self.trace(now, node, TraceKind::Connected, &[&link.to_le_bytes()]);
        let peer = PeerId(link);
        self.slot(node)
            .core
            .handle(now, Event::Connected { peer, info, dialed });
        node
    }

    /// A handshake finished on a link that was cut meanwhile, or at a node now offline:
    /// an online dialer learns the dial failed; anyone else hears nothing.
    fn connect_cut(&mut self, now: Time, link: u64, node: u32) -> Option<u32> {
        let l = self.sh.links.get(link as usize)?;
        if node != l.a || !self.sh.dynamics.online(node) {
            return None;
        }
        let addr = node_addr_for(l.b, l.transport.scheme());
        self.trace(now, node, TraceKind::ConnectFailed, &[addr.host.as_bytes()]);
        let error = "connection reset".to_string();
        self.slot(node).core.handle(now, Event::ConnectFailed { addr, error });
        Some(node)
    }

    fn on_job_done(&mut self, now: Time, node: u32, job: Job) -> u32 {
        if self.sh.real.is_some() {
            return self.real_job_done(now, node, job);
        }
        let sh = self.sh;
        let w = sh.world.read();
        let i = locate(node, sh.parts).1;
        let (result, reached, what, id) = {
            let st = self.part.slots[i].state();
            match job {
                Job::Headers { peer, headers } => {
                    let last = headers
                        .last()
                        .map(|h| h.block_hash().to_byte_array())
                        .unwrap_or_default();
                    (st.apply_headers(&w, peer, &headers), None, &b"headers"[..], last)
                }
                Job::Block { peer, block, .. } => {
                    let hash = block.block_hash().to_byte_array();
                    let out = st.apply_block(&w, peer, &block);
                    (out.result, out.stored.map(Deferred::BlockReached), &b"block"[..], hash)
                }
                Job::Transaction { peer, tx, wtxid } => {
                    let (outcome, accepted) = st.accept_tx_by_wtxid(&w, &tx, &wtxid, now.as_secs());
                    let result = JobResult::Transaction { peer, tx, outcome };
                    (
                        result,
                        accepted.map(Deferred::TxReached),
                        &b"tx"[..],
                        wtxid.to_byte_array(),
                    )
                }
            }
        };
        drop(w);
        self.trace(now, node, TraceKind::JobDone, &[what, &id]);
        if let Some(r) = reached {
            self.defer(node, now, r);
        }
        self.slot(node).core.handle(now, Event::JobDone(result));
        node
    }

    /// Carries out what core `i` asked for, then re-arms its timer.
    pub(super) fn after_core(&mut self, i: u32, now: Time) {
        while let Some(action) = self.slot(i).core.poll_action() {
            self.perform(i, now, action);
        }
        let slot = self.slot(i);
        // At least a microsecond ahead, so a core that keeps asking for "now" cannot stall time.
        let want = slot.core.poll_timeout().map(|t| t.max(Time(now.0 + 1)));
        if want != slot.timer_at {
            slot.timer_at = want;
            if let Some(t) = want {
                self.schedule(i, i, t, Ev::Timer(i));
            }
        }
    }

    fn perform(&mut self, i: u32, now: Time, action: Action) {
        match action {
            Action::Send { peer, msg } => self.send(i, peer.0, msg, now),
            Action::SendBlock { peer, hash, witness } => {
                let payload = {
                    let w = self.sh.world.read();
                    let Some(id) = w.block_id(&hash) else { return };
                    let b = w.block(id);
                    if witness {
                        b.wire.clone()
                    } else {
                        let mut stripped = (*b.block).clone();
                        stripped
                            .txdata
                            .iter_mut()
                            .for_each(|tx| tx.input.iter_mut().for_each(|i| i.witness.clear()));
                        bitcoin::consensus::serialize(&stripped).into()
                    }
                };
                let Ok(command) = Command::new("block") else { return };
                self.send(i, peer.0, Message::new(command, payload, TrafficClass::Block), now);
            }
            Action::Disconnect { peer, .. } => self.defer(i, now, Deferred::Disconnect(peer.0)),
            Action::Connect { addr } => self.defer(i, now, Deferred::Dial(addr)),
            // The simulated network has no DNS: nodes learn peers from the topology.
            Action::Resolve { .. } => {}
            Action::Validate(job) => {
                let cost = job_cost(&self.sh.scenario.validation, &self.sh.world.read(), &job);
                let slot = self.slot(i);
                let done = Time(slot.validate_free.max(now).0 + cost);
                slot.validate_free = done;
                let epoch = self.sh.dynamics.epoch(i);
                self.schedule(i, i, done, Ev::JobDone { node: i, job, epoch });
            }
        }
    }

    /// Node `from` sends `msg` over `link_id`: it queues behind the sender's upload, then
    /// crosses the link, which takes at least the link's latency.
    pub(super) fn send(&mut self, from: u32, link_id: u64, msg: Message, now: Time) {
        let sh = self.sh;
        let Some(link) = sh.links.get(link_id as usize) else {
            return;
        };
        if !link.open {
            return;
        }
        let wire = link.transport.wire_bytes(msg.payload.len());
        let tally = &mut self.part.tally;
        tally.sent(msg.command, msg.payload.len(), wire);
        if link.block_relay {
            tally.sent_block_relay(msg.command, &msg.payload, wire);
        }
        let slot = self.slot(from);
        let depart = Time(slot.upload_free.max(now).0 + serialization_us(wire, slot.upload_mbps));
        slot.upload_free = depart;
        let arrive = link.transit(&sh.scenario.links, from, msg.class, wire, depart);
        let to = link.peer_of(from);
        self.schedule(
            from,
            to,
            arrive,
            Ev::Arrive {
                link: link_id,
                from,
                to,
                msg,
                wire,
            },
        );
    }
}
