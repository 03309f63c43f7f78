//! The portfolio's JSON report in memory that does not grow with its
//! records: the agents, systems, workflows, KPIs and signals are read
//! whole; the value records, owner reviews and risk history go to
//! temporary files, grouped by agent; the snapshots stream through in id
//! order (an agent's together), and each agent is assessed on a second
//! thread as soon as its last snapshot has come, its JSON written to a
//! temporary file as well and copied out riskiest first.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write as _};

use charter_model::{
    Agent, Date, OwnershipReview, RecordKind, RecordValue, RiskEvent, Snapshot, ValueRecord,
};
use charter_risk::{AgentAssessment, Assessment, Assessor, Config, Own, Portfolio, Tally};
use charter_store::WorkspaceRow;
use serde::de::DeserializeOwned;

use crate::{App, AppError, Result};

/// The JSON assessment with its agents kept out of memory: `head` is the
/// assessment without them, and each agent's JSON sits in `file`, where
/// `agents` (riskiest first) says.
#[derive(Debug)]
pub(crate) struct Spilled {
    head: Assessment,
    file: File,
    agents: Vec<Placed>,
}

/// Where an agent's JSON sits, and how it ranks.
#[derive(Debug)]
struct Placed {
    risk: f64,
    agent: String,
    start: u64,
    len: usize,
}

impl Spilled {
    /// Writes the assessment as `serde_json` would write it whole.
    pub(crate) fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let head = &self.head;
        out.write_all(b"{\"as_of\":")?;
        serde_json::to_writer(&mut *out, &head.as_of)?;
        out.write_all(b",\"agents\":[")?;
        let mut buffer = Vec::new();
        for (n, placed) in self.agents.iter().enumerate() {
            if n > 0 {
                out.write_all(b",")?;
            }
            buffer.resize(placed.len, 0);
            read_at(&self.file, &mut buffer, placed.start)?;
            out.write_all(&buffer)?;
        }
        out.write_all(b"]")?;
        for (name, value) in [
            ("risks", &head.risks as &dyn erased::Json),
            ("systems", &head.systems),
            ("escalations", &head.escalations),
            ("recommendations", &head.recommendations),
            ("problems", &head.problems),
            ("summary", &head.summary),
        ] {
            write!(out, ",\"{name}\":")?;
            value.write(&mut *out)?;
        }
        out.write_all(b"}")
    }
}

/// A value written as JSON, whatever its type.
mod erased {
    pub(super) trait Json {
        fn write(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
            Ok(serde_json::to_writer(out, self)?)
        }
    }
}

/// Reads `buffer.len()` bytes of `file` from `start`.
fn read_at(file: &File, buffer: &mut [u8], start: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buffer, start)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read as _, Seek as _};
        let mut file = file;
        file.seek(std::io::SeekFrom::Start(start))?;
        file.read_exact(buffer)
    }
}

fn temporary(what: &str) -> Result<BufWriter<File>> {
    let file = tempfile::tempfile()
        .map_err(|error| AppError::internal(format!("cannot make a temporary file for {what}: {error}")))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

fn unwritable(error: std::io::Error) -> AppError {
    AppError::internal(format!("cannot write the report's temporary file: {error}"))
}

/// Agents' JSON as they are assessed: appended to an anonymous temporary
/// file (gone when dropped), each one's place noted.
struct Spill {
    file: BufWriter<File>,
    written: u64,
    agents: Vec<Placed>,
    scratch: Vec<u8>,
}

impl Spill {
    fn new() -> Result<Spill> {
        Ok(Spill { file: temporary("the report")?, written: 0, agents: Vec::new(), scratch: Vec::new() })
    }

    fn add(&mut self, agent: &AgentAssessment) -> Result<()> {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, agent).map_err(|error| {
            AppError::internal(format!("cannot write the assessment of {}: {error}", agent.agent_id))
        })?;
        self.file.write_all(&self.scratch).map_err(unwritable)?;
        let len = self.scratch.len();
        self.agents.push(Placed {
            risk: agent.risk.value,
            agent: agent.agent_id.clone(),
            start: self.written,
            len,
        });
        self.written += len as u64;
        Ok(())
    }

    fn finish(self, head: Assessment) -> Result<Spilled> {
        let Spill { file, mut agents, .. } = self;
        let file = file.into_inner().map_err(|error| unwritable(error.into_error()))?;
        agents.sort_by(|a, b| charter_risk::riskiest_first((a.risk, &a.agent), (b.risk, &b.agent)));
        Ok(Spilled { head, file, agents })
    }
}

/// Where a record of a [`Grouped`] layer lies in its file: its id, then
/// its JSON.
#[derive(Debug, Clone, Copy)]
struct Note {
    agent: u32,
    id: u32,
    len: u32,
    start: u64,
}

/// The records of a layer read only agent by agent, kept out of memory:
/// each record's id and JSON in a temporary file, and in memory only
/// whose it is and where it lies.
struct Grouped {
    kind: RecordKind,
    file: BufWriter<File>,
    written: u64,
    notes: Vec<Note>,
    /// Agents named that are not in the portfolio.
    unknown: BTreeSet<String>,
}

/// Just the agent a record names.
#[derive(serde::Deserialize)]
struct Whose<'a> {
    #[serde(borrow)]
    agent_id: Cow<'a, str>,
}

impl Grouped {
    fn new(kind: RecordKind) -> Result<Grouped> {
        Ok(Grouped {
            kind,
            file: temporary("the report")?,
            written: 0,
            notes: Vec::new(),
            unknown: BTreeSet::new(),
        })
    }

    fn add(&mut self, agents: &HashMap<&str, u32>, id: &str, body: &str) -> Result<()> {
        let corrupt = || AppError::corrupt(format!("{} \"{id}\" does not parse", self.kind));
        let whose: Whose<'_> = serde_json::from_str(body).map_err(|_| corrupt())?;
        let Some(&agent) = agents.get(whose.agent_id.as_ref()) else {
            self.unknown.insert(whose.agent_id.into_owned());
            return Ok(());
        };
        let (id_len, len) = (u32::try_from(id.len()), u32::try_from(id.len() + body.len()));
        let (Ok(id_len), Ok(len)) = (id_len, len) else { return Err(corrupt()) };
        self.file.write_all(id.as_bytes()).map_err(unwritable)?;
        self.file.write_all(body.as_bytes()).map_err(unwritable)?;
        self.notes.push(Note { agent, id: id_len, len, start: self.written });
        self.written += u64::from(len);
        Ok(())
    }

    /// The layer, its records grouped by agent (each agent's in the order
    /// read), for `agents` agents.
    fn finish(self, agents: usize) -> Result<GroupedFile> {
        let Grouped { kind, file, mut notes, unknown, .. } = self;
        let file = file.into_inner().map_err(|error| unwritable(error.into_error()))?;
        notes.sort_by_key(|n| n.agent);
        let mut starts = Vec::with_capacity(agents + 1);
        let mut at = 0;
        for agent in 0..=agents {
            while notes.get(at).is_some_and(|n| (n.agent as usize) < agent) {
                at += 1;
            }
            starts.push(at);
        }
        Ok(GroupedFile { kind, file, notes, starts, unknown })
    }
}

/// A [`Grouped`] layer once read.
struct GroupedFile {
    kind: RecordKind,
    file: File,
    notes: Vec<Note>,
    /// The notes of agent `a` are `notes[starts[a]..starts[a + 1]]`.
    starts: Vec<usize>,
    unknown: BTreeSet<String>,
}

impl GroupedFile {
    /// The records of the agent at `agent`, in the order read: records
    /// that lie one after the other in the file are read in one go.
    fn of<T: DeserializeOwned>(&self, agent: usize, buffer: &mut Vec<u8>) -> Result<Vec<T>> {
        let notes = match (self.starts.get(agent), self.starts.get(agent + 1)) {
            (Some(&first), Some(&end)) => &self.notes[first..end],
            _ => &[],
        };
        let mut records = Vec::with_capacity(notes.len());
        let mut rest = notes;
        while let Some(first) = rest.first() {
            let run = 1 + rest
                .windows(2)
                .take_while(|pair| pair[0].start + u64::from(pair[0].len) == pair[1].start)
                .count();
            let last = &rest[run - 1];
            let span = (last.start + u64::from(last.len) - first.start) as usize;
            buffer.resize(span, 0);
            read_at(&self.file, buffer, first.start).map_err(|error| {
                AppError::internal(format!("cannot read the report's temporary file: {error}"))
            })?;
            for note in &rest[..run] {
                let at = (note.start - first.start) as usize;
                let (id, body) = buffer[at..at + note.len as usize].split_at(note.id as usize);
                let id = String::from_utf8_lossy(id);
                records.push(
                    serde_json::from_slice(body)
                        .map_err(|_| AppError::corrupt(format!("{} \"{id}\" does not parse", self.kind)))?,
                );
            }
            rest = &rest[run..];
        }
        Ok(records)
    }
}

/// What an agent reads of the layers kept out of memory.
struct OwnFiles {
    values: GroupedFile,
    reviews: GroupedFile,
    events: GroupedFile,
}

impl App {
    /// The portfolio assessed as of `as_of` with `config`, in memory that
    /// does not grow with its snapshots, value records, owner reviews, risk
    /// history or agents' assessments (see the module's documentation).
    /// The records are read on a blocking thread, straight from the
    /// SQLite file when there is one.
    pub(crate) async fn assess_spilled(
        &self,
        row: &WorkspaceRow,
        as_of: Date,
        config: &Config,
    ) -> Result<Spilled> {
        let reader = Reader::open(self, row).await?;
        let config = config.clone();
        tokio::task::spawn_blocking(move || spill_portfolio(&reader, as_of, &config))
            .await
            .map_err(|error| AppError::internal(format!("the report's assessment stopped: {error}")))?
    }
}

/// Reads a workspace's records on a blocking thread.
pub(super) struct Reader {
    store: charter_store::Store,
    runtime: tokio::runtime::Handle,
    workspace: i64,
    /// Records by kind, to size what is read.
    counts: HashMap<String, u64>,
}

impl Reader {
    /// A reader of `row`'s records, made on the async runtime.
    pub(super) async fn open(app: &App, row: &WorkspaceRow) -> Result<Reader> {
        let counts = app.store.record_counts(row.id).await?.into_iter().collect();
        let (store, runtime) = (app.store.clone(), tokio::runtime::Handle::current());
        Ok(Reader { store, runtime, workspace: row.id, counts })
    }

    /// Every record of `kind` as (id, canonical value), in id order.
    fn visit(&self, kind: RecordKind, visit: impl FnMut(&str, &str) -> Result<()>) -> Result<()> {
        self.store.visit_values_blocking(&self.runtime, self.workspace, kind, visit)
    }

    /// Every record of `T`'s kind.
    pub(super) fn all<T: RecordValue>(&self) -> Result<Vec<T>> {
        let expected = self.counts.get(T::KIND.name()).map_or(0, |n| *n as usize);
        let mut all = Vec::with_capacity(expected);
        self.visit(T::KIND, |id, body| {
            let value = serde_json::from_str(body)
                .map_err(|_| AppError::corrupt(format!("{} \"{id}\" does not parse", T::KIND)))?;
            all.push(value);
            Ok(())
        })?;
        Ok(all)
    }

    /// Every record of `kind`, grouped by agent into a temporary file.
    fn grouped(&self, kind: RecordKind, agents: &HashMap<&str, u32>) -> Result<GroupedFile> {
        let mut grouped = Grouped::new(kind)?;
        self.visit(kind, |id, body| grouped.add(agents, id, body))?;
        grouped.finish(agents.len())
    }
}

/// [`App::assess_spilled`] on its blocking thread: the agents first, then
/// the other layers read whole on this thread while a second one groups
/// the layers read agent by agent, then the snapshots.
fn spill_portfolio(reader: &Reader, as_of: Date, config: &Config) -> Result<Spilled> {
    let agents: Vec<Agent> = reader.all()?;
    let positions: HashMap<&str, u32> =
        agents.iter().zip(0..).map(|(a, at)| (a.agent_id.as_str(), at)).collect();
    let (files, records) = std::thread::scope(|scope| -> Result<_> {
        let grouping = scope.spawn(|| -> Result<OwnFiles> {
            Ok(OwnFiles {
                values: reader.grouped(RecordKind::ValueRecord, &positions)?,
                reviews: reader.grouped(RecordKind::OwnershipReview, &positions)?,
                events: reader.grouped(RecordKind::RiskEvent, &positions)?,
            })
        });
        let (systems, workflows, kpis, signals) = (reader.all(), reader.all(), reader.all(), reader.all());
        let files = grouping.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((files, (systems?, workflows?, kpis?, signals?)))
    })?;
    drop(positions);
    let (systems, workflows, kpis, signals) = records;
    let records = super::assessment::PortfolioRecords {
        agents,
        systems,
        workflows,
        kpis,
        signals,
        ..Default::default()
    };
    spill_assessment(&records.portfolio(as_of), &files, config, reader)
}

/// [`App::assess_spilled`] once the other layers are read: the snapshots
/// are read in id order on this thread while a second thread assesses each
/// agent whose snapshots have all come.
fn spill_assessment(
    portfolio: &Portfolio<'_>,
    files: &OwnFiles,
    config: &Config,
    reader: &Reader,
) -> Result<Spilled> {
    let assessor = Assessor::new(portfolio, config);
    // A few hundred agents' snapshots in flight at most.
    let (groups, arriving) = std::sync::mpsc::sync_channel::<Vec<Snapshot>>(256);
    std::thread::scope(|scope| {
        let assessor = &assessor;
        let assessing = scope.spawn(move || -> Result<(Tally, Spill)> {
            let mut tally = Tally::default();
            for (kind, file) in [("value_record", &files.values), ("ownership_review", &files.reviews)] {
                for agent in &file.unknown {
                    tally.unknown(kind, agent);
                }
            }
            let mut spill = Spill::new()?;
            let mut done = vec![false; assessor.len()];
            let mut buffer = Vec::new();
            let mut assess = |at: usize, snapshots: &[Snapshot], tally: &mut Tally| -> Result<()> {
                let values: Vec<ValueRecord> = files.values.of(at, &mut buffer)?;
                let reviews: Vec<OwnershipReview> = files.reviews.of(at, &mut buffer)?;
                let events: Vec<RiskEvent> = files.events.of(at, &mut buffer)?;
                let own = Own {
                    snapshots: snapshots.iter().collect(),
                    values: values.iter().collect(),
                    reviews: reviews.iter().collect(),
                    events: events.iter().collect(),
                };
                spill.add(&tally.add(at, assessor.agent(at, own)))
            };
            for group in arriving {
                let Some(agent) = group.first().map(|s| s.agent_id.as_str()) else { continue };
                match assessor.position(agent) {
                    None => tally.unknown("snapshot", agent),
                    Some(at) if done[at] => {
                        return Err(AppError::internal(format!(
                            "the snapshots of {agent} did not come together in id order"
                        )));
                    }
                    Some(at) => {
                        done[at] = true;
                        assess(at, &group, &mut tally)?;
                    }
                }
            }
            for at in (0..assessor.len()).filter(|&at| !done[at]) {
                assess(at, &[], &mut tally)?;
            }
            Ok((tally, spill))
        });
        let mut group: Vec<Snapshot> = Vec::new();
        let stopped = || AppError::internal("the report's assessment stopped");
        let mut visit = |id: &str, body: &str| -> Result<()> {
            let snapshot: Snapshot = serde_json::from_str(body)
                .map_err(|_| AppError::corrupt(format!("snapshot \"{id}\" does not parse")))?;
            if group.first().is_some_and(|s| s.agent_id != snapshot.agent_id) {
                groups.send(std::mem::take(&mut group)).map_err(|_| stopped())?;
            }
            group.push(snapshot);
            Ok(())
        };
        let read = reader.visit(RecordKind::Snapshot, &mut visit);
        let last = groups.send(group);
        drop(groups);
        // The assessing thread's error first: when it stops, reading does.
        let (tally, spill) = assessing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        read?;
        last.map_err(|_| stopped())?;
        spill.finish(tally.finish(assessor, Vec::new()))
    })
}
