//! The catalog's lineage graph and the walk downstream from a dataset
//! (PROC-ANALYZE-SCHEMA-CHANGE steps 2-3).
//!
//! A dataset is downstream of another when it depends on it, is related to
//! it, or has a field that references one of its keys: each such
//! declaration is an edge from the named dataset to the declaring one. The
//! graph is stored as compressed adjacency lists over dense `u32` node
//! numbers, so a walk touches two flat arrays; the walk is breadth-first
//! with a visited mark, so cycles end it rather than loop it, every dataset
//! is reached once, and the path it records is a shortest one. Unlike
//! lineage tools that stop at depth 3, there is no depth cap.

use std::collections::HashMap;

use charter_model::Dataset;
use serde::Serialize;

/// How one dataset reaches another (a bit set: one edge may be several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeKinds(u8);

impl EdgeKinds {
    /// The downstream dataset depends on the upstream one.
    pub const DEPENDENCY: EdgeKinds = EdgeKinds(1);
    /// The downstream dataset is related to the upstream one.
    pub const RELATIONSHIP: EdgeKinds = EdgeKinds(2);
    /// A field of the downstream dataset references a key of the upstream one.
    pub const REFERENCE: EdgeKinds = EdgeKinds(4);

    /// The kinds' names, e.g. `["dependency", "reference"]`.
    pub fn names(self) -> Vec<&'static str> {
        self.each_name().collect()
    }

    fn each_name(self) -> impl Iterator<Item = &'static str> {
        [(1, "dependency"), (2, "relationship"), (4, "reference")]
            .into_iter()
            .filter(move |(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| name)
    }
}

impl Serialize for EdgeKinds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.each_name())
    }
}

/// The lineage graph of a catalog of datasets.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    ids: Vec<String>,
    index: HashMap<String, u32>,
    /// `targets[offsets[n]..offsets[n + 1]]` are the nodes directly downstream of `n`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
    kinds: Vec<u8>,
}

impl Catalog {
    /// The graph of `datasets`; edges naming a dataset outside the catalog
    /// are left out (the registry's reference checks report those).
    pub fn from_datasets<'a>(datasets: impl IntoIterator<Item = &'a Dataset>) -> Catalog {
        let datasets: Vec<&Dataset> = datasets.into_iter().collect();
        let ids: Vec<String> = datasets.iter().map(|d| d.dataset_id.to_string()).collect();
        let index: HashMap<String, u32> =
            ids.iter().enumerate().map(|(n, id)| (id.clone(), n as u32)).collect();
        let mut edges = Vec::new();
        for (to, dataset) in datasets.iter().enumerate() {
            let to = to as u32;
            let mut add = |from: &str, kind: EdgeKinds| {
                if let Some(&from) = index.get(from)
                    && from != to
                {
                    edges.push((from, to, kind.0));
                }
            };
            dataset.dependencies.iter().for_each(|d| add(d.as_str(), EdgeKinds::DEPENDENCY));
            dataset.relationships.iter().for_each(|d| add(d.as_str(), EdgeKinds::RELATIONSHIP));
            for field in &dataset.fields {
                if let Some(reference) = &field.references {
                    add(reference.dataset.as_str(), EdgeKinds::REFERENCE);
                }
            }
        }
        Catalog::build(ids, index, edges)
    }

    /// The graph over `ids` with `edges` (upstream, downstream) given as
    /// node numbers, all of kind dependency. Edges out of range are ignored.
    pub fn from_edges(ids: Vec<String>, edges: &[(u32, u32)]) -> Catalog {
        let index = ids.iter().enumerate().map(|(n, id)| (id.clone(), n as u32)).collect();
        let n = ids.len() as u32;
        let edges = edges
            .iter()
            .filter(|(from, to)| *from < n && *to < n && from != to)
            .map(|&(from, to)| (from, to, EdgeKinds::DEPENDENCY.0))
            .collect();
        Catalog::build(ids, index, edges)
    }

    fn build(ids: Vec<String>, index: HashMap<String, u32>, mut edges: Vec<(u32, u32, u8)>) -> Catalog {
        edges.sort_unstable();
        // One edge per pair, its kinds merged.
        let mut merged: Vec<(u32, u32, u8)> = Vec::with_capacity(edges.len());
        for (from, to, kind) in edges {
            match merged.last_mut() {
                Some(last) if last.0 == from && last.1 == to => last.2 |= kind,
                _ => merged.push((from, to, kind)),
            }
        }
        let mut offsets = vec![0_u32; ids.len() + 1];
        for &(from, _, _) in &merged {
            offsets[from as usize + 1] += 1;
        }
        for n in 0..ids.len() {
            offsets[n + 1] += offsets[n];
        }
        let targets = merged.iter().map(|e| e.1).collect();
        let kinds = merged.iter().map(|e| e.2).collect();
        Catalog { ids, index, offsets, targets, kinds }
    }

    /// Number of datasets.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of distinct edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// The node number of dataset `id`.
    pub fn node(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The dataset id of node `node`.
    pub fn id(&self, node: u32) -> &str {
        &self.ids[node as usize]
    }

    /// The nodes directly downstream of `node`.
    pub fn downstream_of(&self, node: u32) -> &[u32] {
        let (start, end) = (self.offsets[node as usize], self.offsets[node as usize + 1]);
        &self.targets[start as usize..end as usize]
    }

    /// How `from` reaches `to` directly, if it does.
    pub fn edge(&self, from: u32, to: u32) -> Option<EdgeKinds> {
        let start = self.offsets[from as usize] as usize;
        let targets = self.downstream_of(from);
        targets.binary_search(&to).ok().map(|i| EdgeKinds(self.kinds[start + i]))
    }
}

/// Scratch space for walks over one catalog, reused between walks so a
/// walk costs only what it reaches.
#[derive(Debug, Clone, Default)]
pub struct Walker {
    /// `mark[n] == round` when `n` was reached in this walk.
    mark: Vec<u32>,
    round: u32,
    parent: Vec<u32>,
    /// Kinds of the edge from `parent[n]` to `n`.
    via: Vec<u8>,
    /// Edges from the start to `n` on a shortest path.
    depth: Vec<u32>,
    order: Vec<u32>,
    start: u32,
}

impl Walker {
    /// Every dataset downstream of `start`, transitively, in breadth-first
    /// order (so by depth), without `start` itself even when a cycle leads
    /// back to it.
    pub fn walk(&mut self, catalog: &Catalog, start: u32) -> &[u32] {
        let n = catalog.len();
        if self.mark.len() != n {
            self.mark = vec![0; n];
            self.parent = vec![0; n];
            self.via = vec![0; n];
            self.depth = vec![0; n];
            self.round = 0;
        }
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.mark.fill(0);
            self.round = 1;
        }
        let round = self.round;
        self.start = start;
        self.order.clear();
        self.mark[start as usize] = round;
        self.depth[start as usize] = 0;
        let mut next = 0;
        let mut current = start;
        loop {
            let first = catalog.offsets[current as usize] as usize;
            let depth = self.depth[current as usize] + 1;
            for (offset, &to) in catalog.downstream_of(current).iter().enumerate() {
                let seen = &mut self.mark[to as usize];
                if *seen != round {
                    *seen = round;
                    self.parent[to as usize] = current;
                    self.via[to as usize] = catalog.kinds[first + offset];
                    self.depth[to as usize] = depth;
                    self.order.push(to);
                }
            }
            let Some(&following) = self.order.get(next) else { break };
            current = following;
            next += 1;
        }
        &self.order
    }

    /// Whether the last walk reached `node` (its start included).
    pub fn is_reached(&self, node: u32) -> bool {
        self.mark.get(node as usize) == Some(&self.round)
    }

    /// The node through which the last walk first reached `node` (a node
    /// the walk reached, not its start).
    pub fn parent(&self, node: u32) -> u32 {
        self.parent[node as usize]
    }

    /// Edges on the last walk's shortest path to `node` (a node it reached).
    pub fn depth(&self, node: u32) -> u32 {
        self.depth[node as usize]
    }

    /// How the last walk's path reaches `node` (the kinds of its last edge).
    pub fn via(&self, node: u32) -> EdgeKinds {
        EdgeKinds(self.via[node as usize])
    }

    /// What the last walk reached, in breadth-first order.
    pub fn reached(&self) -> &[u32] {
        &self.order
    }

    /// The shortest path from the last walk's start to `node` (both
    /// included); `node` must have been reached by that walk.
    pub fn path(&self, node: u32) -> Vec<u32> {
        let mut path = vec![node];
        let mut at = node;
        while at != self.start {
            at = self.parent[at as usize];
            path.push(at);
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    /// Reachability by repeated relaxation until nothing changes: slow,
    /// obviously right, and sharing no code with the walk.
    fn closure(n: usize, edges: &[(u32, u32)], start: usize) -> Vec<Option<usize>> {
        let mut distance: Vec<Option<usize>> = vec![None; n];
        distance[start] = Some(0);
        loop {
            let mut changed = false;
            for &(from, to) in edges {
                let (from, to) = (from as usize, to as usize);
                if let Some(d) = distance[from]
                    && distance[to].is_none_or(|current| d + 1 < current)
                {
                    distance[to] = Some(d + 1);
                    changed = true;
                }
            }
            if !changed {
                return distance;
            }
        }
    }

    fn graph() -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
        (1_usize..40).prop_flat_map(|n| {
            let edge = (0..n as u32, 0..n as u32);
            (Just(n), proptest::collection::vec(edge, 0..n * 4))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn walk_matches_transitive_closure((n, edges) in graph(), start in 0_usize..40) {
            let start = start % n;
            let ids = (0..n).map(|i| format!("D{i}")).collect();
            let catalog = Catalog::from_edges(ids, &edges);
            let mut walker = Walker::default();
            // Walk twice: the reused scratch space must not leak between walks.
            walker.walk(&catalog, ((start + 1) % n) as u32);
            let reached: Vec<u32> = walker.walk(&catalog, start as u32).to_vec();
            let distance = closure(n, &edges, start);
            let expected: BTreeSet<usize> =
                (0..n).filter(|&i| i != start && distance[i].is_some()).collect();
            let got: BTreeSet<usize> = reached.iter().map(|&i| i as usize).collect();
            prop_assert_eq!(got.len(), reached.len(), "a dataset was reached twice");
            prop_assert_eq!(&got, &expected);
            let edge_set: BTreeSet<(u32, u32)> = edges.iter().copied().collect();
            for &node in &reached {
                let path = walker.path(node);
                prop_assert_eq!(path[0] as usize, start);
                prop_assert_eq!(*path.last().unwrap(), node);
                prop_assert_eq!(Some(path.len() - 1), distance[node as usize], "not a shortest path");
                prop_assert_eq!(walker.depth(node) as usize, path.len() - 1);
                for hop in path.windows(2) {
                    prop_assert!(edge_set.contains(&(hop[0], hop[1])), "path uses a missing edge");
                }
            }
        }
    }

    #[test]
    fn datasets_make_edges_of_every_kind_and_cycles_end() {
        let parse = |json: &str| -> Dataset { serde_json::from_str(json).unwrap() };
        let datasets = [
            parse(r#"{"dataset_id":"A","dataset_name":"A","dependencies":["C"]}"#),
            parse(r#"{"dataset_id":"B","dataset_name":"B","dependencies":["A"],"relationships":["A"]}"#),
            parse(
                r#"{"dataset_id":"C","dataset_name":"C","fields":[{"name":"b","type":"string","references":{"dataset":"B","field":"id"}}]}"#,
            ),
        ];
        let catalog = Catalog::from_datasets(&datasets);
        let a = catalog.node("A").unwrap();
        let mut walker = Walker::default();
        let reached: Vec<&str> = walker.walk(&catalog, a).iter().map(|&n| catalog.id(n)).collect();
        assert_eq!(reached, ["B", "C"]);
        let (b, c) = (catalog.node("B").unwrap(), catalog.node("C").unwrap());
        assert_eq!(catalog.edge(a, b).unwrap().names(), ["dependency", "relationship"]);
        assert_eq!(catalog.edge(b, c).unwrap().names(), ["reference"]);
        assert_eq!(walker.path(c), [a, b, c]);
        assert_eq!((walker.depth(b), walker.depth(c)), (1, 2));
    }
}
