//! How results are printed: the output format, JSON, records, and aligned
//! text tables for people.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Result;
use charter_app::RecordView;
use clap::ValueEnum;

use crate::settings::Global;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn print_record(global: &Global, view: &RecordView) -> Result<()> {
    if global.output == Output::Json {
        return print_json(view);
    }
    println!(
        "{} {} (version {}, created {}, updated {})",
        view.kind, view.id, view.version, view.created_at, view.updated_at
    );
    println!("{}", serde_json::to_string_pretty(&view.record.to_json_value())?);
    Ok(())
}

/// A table: a header row and data rows, printed with columns padded to the
/// widest cell.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub(crate) fn new<I: IntoIterator<Item = S>, S: Into<String>>(header: I) -> Self {
        Self { header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Adds a row.
    pub(crate) fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Whether the table has no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row.
    pub(crate) fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate().take(columns) {
                widths[index] = widths[index].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate().take(columns) {
                if index + 1 == columns {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<width$}  ", width = widths[index]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn pads_columns_to_the_widest_cell() {
        let mut table = Table::new(["ID", "NAME"]);
        table.row(["agent_sales_01", "Sales"]);
        table.row(["a", "Ünïcode"]);
        assert_eq!(table.render(), "ID              NAME\nagent_sales_01  Sales\na               Ünïcode\n");
    }
}
