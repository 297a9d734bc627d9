//! Where a running response reports its progress: nowhere (a whole answer),
//! or the client's event stream. Frames go through an unbounded channel so a
//! slow or vanished client never stalls the run (its money settles either way).

use assistiv_llm::responses::events::Events;
use assistiv_llm::responses::items::Part;
use assistiv_llm::responses::{Item, ResponseObject};
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

pub struct Reporter {
    events: Events,
    stream: Option<UnboundedSender<Bytes>>,
}

impl Reporter {
    /// Reports nothing (a non-streamed response).
    pub fn silent() -> Self {
        Self {
            events: Events::default(),
            stream: None,
        }
    }

    /// Reports each event as an SSE frame on `stream`.
    pub fn streaming(stream: UnboundedSender<Bytes>) -> Self {
        Self {
            events: Events::default(),
            stream: Some(stream),
        }
    }

    fn send(&self, frame: String) {
        if let Some(stream) = &self.stream {
            // A client that left stops reading; the run goes on.
            let _ = stream.send(Bytes::from(frame));
        }
    }

    /// The events of an output item at `index`, added to done.
    pub fn item(&mut self, index: usize, item: &Item) {
        if self.stream.is_some() {
            for frame in self.events.item(index, item, &[]) {
                self.send(frame);
            }
        }
    }

    pub fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// A message item at `index` starts (its text follows in deltas).
    pub fn message_started(&mut self, index: usize, item: &Item) {
        if self.stream.is_some() {
            for frame in self.events.message_added(index, item) {
                self.send(frame);
            }
        }
    }

    /// A piece of the text of the message at `index` (its first part).
    pub fn text_delta(&mut self, index: usize, item_id: &str, delta: &str) {
        if self.stream.is_some() {
            let part = Part::OutputText {
                text: String::new(),
                annotations: Vec::new(),
            };
            let frame = self.events.delta(index, item_id, 0, &part, delta);
            self.send(frame);
        }
    }

    /// The message at `index` is whole.
    pub fn message_finished(&mut self, index: usize, item: &Item) {
        if self.stream.is_some() {
            for frame in self.events.message_done(index, item) {
                self.send(frame);
            }
        }
    }

    /// `response.created`, `response.completed`, ...
    pub fn lifecycle(&mut self, kind: &str, response: &ResponseObject) {
        if self.stream.is_some() {
            let frame = self.events.lifecycle(kind, response);
            self.send(frame);
        }
    }

    /// An `error` event.
    pub fn error(&mut self, code: &str, message: &str) {
        if self.stream.is_some() {
            let frame = self.events.error(code, message);
            self.send(frame);
        }
    }
}
