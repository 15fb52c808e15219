//! Page state: where the analysis stands ([`Run`], [`Page`]), the worker's events folded
//! into it, and the [`Controller`] that starts and cancels analyses. The views never see
//! this module's controller: `app.rs` hands them the run and callbacks.

use crate::bridge::{self, Analysis, Item};
use crate::protocol::{FromWorker, HashProgress, InputProgress, Outcome};
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// Where the current analysis stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Run {
    /// Nothing loaded yet.
    #[default]
    Idle,
    Running(Option<InputProgress>),
    Done(Rc<Outcome>),
    /// The worker failed or crashed; the page goes on.
    Failed(String),
    Cancelled,
}

impl Run {
    /// The results container's `data-state`.
    pub fn state_name(&self) -> &'static str {
        match self {
            Run::Idle => "idle",
            Run::Running(_) => "running",
            Run::Done(_) => "done",
            Run::Failed(_) => "error",
            Run::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub run: Run,
    /// Which analysis the current one is: events of older workers are ignored, and the
    /// fix panel starts afresh for each.
    pub generation: u32,
    /// How far the hashing after the findings is (while `run` is done and hashing).
    pub hashed: Option<HashProgress>,
}

#[derive(Debug)]
pub enum Action {
    Start(u32),
    Worker(u32, bridge::Event),
    Cancel,
    Fail(String),
}

impl Reducible for Page {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let run = match action {
            Action::Start(generation) => {
                return Rc::new(Page {
                    run: Run::Running(None),
                    generation,
                    hashed: None,
                });
            }
            Action::Worker(generation, _) if generation != self.generation => return self,
            Action::Worker(_, bridge::Event::Message(FromWorker::HashProgress(progress))) => {
                return match &self.run {
                    Run::Done(outcome) if outcome.hashing => Rc::new(Page {
                        run: self.run.clone(),
                        generation: self.generation,
                        hashed: Some(progress),
                    }),
                    _ => self,
                };
            }
            // The digests that follow the findings.
            Action::Worker(_, bridge::Event::Message(FromWorker::Hashed(hashed))) => {
                match &self.run {
                    Run::Done(outcome) if outcome.hashing => {
                        Run::Done(Rc::new(outcome.with_hashes(*hashed)))
                    }
                    _ => return self,
                }
            }
            Action::Worker(_, _) if !matches!(self.run, Run::Running(_)) => return self,
            Action::Worker(_, bridge::Event::Message(message)) => match message {
                FromWorker::Progress(progress) => Run::Running(Some(progress)),
                FromWorker::Done(outcome) => Run::Done(Rc::new(*outcome)),
                FromWorker::Hashed(_) | FromWorker::HashProgress(_) => return self,
                FromWorker::Failed { message, .. } => Run::Failed(message),
            },
            Action::Worker(_, bridge::Event::Crashed(message)) => Run::Failed(message),
            Action::Cancel => Run::Cancelled,
            Action::Fail(message) => Run::Failed(message),
        };
        Rc::new(Page {
            run,
            generation: self.generation,
            hashed: None,
        })
    }
}

/// Starts analyses and cancels them: what the intake panel's callbacks call.
#[derive(Debug, Clone)]
pub struct Controller {
    page: UseReducerDispatcher<Page>,
    current: Rc<RefCell<Option<Analysis>>>,
    generation: Rc<RefCell<u32>>,
}

impl PartialEq for Controller {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.current, &other.current)
    }
}

impl Controller {
    /// Analyses `items` in a fresh worker, ending any analysis still running.
    pub fn analyse(&self, items: Vec<Item>) {
        self.current.borrow_mut().take();
        let generation = {
            let mut g = self.generation.borrow_mut();
            *g = g.wrapping_add(1);
            *g
        };
        self.page.dispatch(Action::Start(generation));
        let page = self.page.clone();
        let current = Rc::clone(&self.current);
        let on_event = Callback::from(move |event: bridge::Event| {
            // The worker goes on after findings whose digests are still to come.
            let finished = match &event {
                bridge::Event::Message(FromWorker::Progress(_) | FromWorker::HashProgress(_)) => {
                    false
                }
                bridge::Event::Message(FromWorker::Done(outcome)) => !outcome.hashing,
                _ => true,
            };
            page.dispatch(Action::Worker(generation, event));
            if finished {
                // Not from inside the worker's own callback: end it once this event is handled.
                let current = Rc::clone(&current);
                wasm_bindgen_futures::spawn_local(async move {
                    current.borrow_mut().take();
                    bridge::warm_later();
                });
            }
        });
        match bridge::start(&items, on_event) {
            Ok(analysis) => *self.current.borrow_mut() = Some(analysis),
            Err(message) => self.page.dispatch(Action::Fail(message)),
        }
    }

    /// Ends the running analysis.
    pub fn cancel(&self) {
        self.current.borrow_mut().take();
        bridge::warm_later();
        self.page.dispatch(Action::Cancel);
    }

    /// Reports a problem found before the worker started (a sample that did not load).
    pub fn fail(&self, message: String) {
        self.page.dispatch(Action::Fail(message));
    }
}

/// The page's state and the controller acting on it.
#[hook]
pub fn use_page() -> (UseReducerHandle<Page>, Controller) {
    let page = use_reducer(Page::default);
    let current = use_mut_ref(|| None::<Analysis>);
    let generation = use_mut_ref(|| 0u32);
    let controller = Controller {
        page: page.dispatcher(),
        current,
        generation,
    };
    (page, controller)
}
