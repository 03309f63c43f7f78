//! Tiles: how the tree's hashes are stored. A tile of tile-level `t` holds up
//! to 256 consecutive node hashes of tree level `8t`; the seven levels above
//! them inside the tile are recomputed when needed (at most 255 hashes).
//! Every node of the tree is in exactly one tile, a tree of `n` leaves takes
//! about `n/255` tiles, and any node is found by reading one tile — so a root
//! or a proof needs O(log n) tile reads. This is the layout of the C2SP
//! `tlog-tiles` specification, kept in a database instead of files.

use std::collections::{BTreeMap, HashMap};

use crate::LedgerError;
use crate::hash::{HASH_LEN, Hash, node_hash};
use crate::tree::NodeSource;

/// Tree levels covered by one tile.
pub const TILE_HEIGHT: u32 = 8;

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Identifies a tile: its tile-level and its index within that level.
pub type TileId = (u32, u64);

/// Up to 256 node hashes of tree level `8 · level`, starting at node
/// `256 · index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// Tile-level: the tile holds nodes of tree level `8 · level`.
    pub level: u32,
    /// Index of the tile within its level.
    pub index: u64,
    /// The hashes, left to right.
    pub hashes: Vec<Hash>,
}

impl Tile {
    /// An empty tile.
    pub fn empty(level: u32, index: u64) -> Self {
        Self { level, index, hashes: Vec::new() }
    }

    /// The hashes as 32 bytes each.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.iter().flat_map(|hash| hash.0).collect()
    }

    /// Reads a tile stored by [`Tile::to_bytes`].
    pub fn from_bytes(level: u32, index: u64, bytes: &[u8]) -> Result<Self, LedgerError> {
        if !bytes.len().is_multiple_of(HASH_LEN) || bytes.len() as u64 > TILE_WIDTH * HASH_LEN as u64 {
            return Err(LedgerError::Format(format!(
                "tile {level}/{index} holds {} bytes: not a whole number of hashes, at most 256",
                bytes.len()
            )));
        }
        let hashes = bytes.chunks(HASH_LEN).filter_map(Hash::from_slice).collect();
        Ok(Self { level, index, hashes })
    }

    /// Whether the tile holds all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.hashes.len() as u64 == TILE_WIDTH
    }
}

/// The tiles that hold the right edge of a tree of `size` leaves: the last
/// tile of every tile-level. An append reads these and nothing else.
pub fn edge_tiles(size: u64) -> Vec<TileId> {
    let mut tiles = vec![(0, size / TILE_WIDTH)];
    let mut level = 1;
    while level * TILE_HEIGHT < 64 && size >> (level * TILE_HEIGHT) > 0 {
        tiles.push((level, (size >> (level * TILE_HEIGHT)) / TILE_WIDTH));
        level += 1;
    }
    tiles
}

/// How many hashes the tile `id` holds in a tree of `size` leaves.
pub fn tile_len(id: TileId, size: u64) -> u64 {
    let (level, index) = id;
    let nodes = if level * TILE_HEIGHT >= 64 { 0 } else { size >> (level * TILE_HEIGHT) };
    nodes.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH)
}

/// The tile that holds node `(level, index)` of the tree.
pub fn tile_of(level: u32, index: u64) -> TileId {
    let tile_level = level / TILE_HEIGHT;
    let base_first = index << (level % TILE_HEIGHT);
    (tile_level, base_first / TILE_WIDTH)
}

/// The tile that holds node `(level, index)` and how many of its first
/// hashes computing that node reads.
pub fn tile_span(level: u32, index: u64) -> (TileId, usize) {
    let shift = level % TILE_HEIGHT;
    let first = (index << shift) % TILE_WIDTH;
    // At most 256: `first + 2^shift` never passes the tile's end.
    (tile_of(level, index), (first + (1 << shift)) as usize)
}

/// Tiles in memory, answering for any node they cover.
#[derive(Debug, Default, Clone)]
pub struct TileSet {
    tiles: HashMap<TileId, Tile>,
}

impl TileSet {
    /// A set holding `tiles`.
    pub fn new(tiles: impl IntoIterator<Item = Tile>) -> Self {
        Self { tiles: tiles.into_iter().map(|tile| ((tile.level, tile.index), tile)).collect() }
    }

    /// Adds or replaces a tile.
    pub fn insert(&mut self, tile: Tile) {
        self.tiles.insert((tile.level, tile.index), tile);
    }

    /// One tile.
    pub fn get(&self, id: TileId) -> Option<&Tile> {
        self.tiles.get(&id)
    }
}

/// The root of the perfect subtree over `hashes` (a power of two of them).
fn fold(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
    }
    level[0]
}

impl NodeSource for TileSet {
    fn node(&self, level: u32, index: u64) -> Result<Hash, LedgerError> {
        let id = tile_of(level, index);
        let missing = || LedgerError::Missing(format!("node {level}/{index} (tile {}/{})", id.0, id.1));
        let tile = self.tiles.get(&id).ok_or_else(missing)?;
        let width = 1_usize << (level % TILE_HEIGHT);
        let first = usize::try_from((index << (level % TILE_HEIGHT)) % TILE_WIDTH).map_err(|_| missing())?;
        let hashes = tile.hashes.get(first..first + width).ok_or_else(missing)?;
        Ok(fold(hashes))
    }
}

/// A tile with its inner nodes computed once: level `k` (0 to 7) holds the
/// nodes of tree level `8·t + k` whose subtrees the tile's hashes cover
/// whole. A proof reads any node of it without hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileNodes {
    id: TileId,
    levels: Vec<Vec<Hash>>,
}

impl TileNodes {
    /// The nodes of `tile` (at most 255 hashes computed).
    pub fn new(tile: Tile) -> Self {
        let id = (tile.level, tile.index);
        let mut levels = vec![tile.hashes];
        while levels.len() < TILE_HEIGHT as usize {
            let Some(below) = levels.last() else { break };
            let above: Vec<Hash> = below.chunks_exact(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
            if above.is_empty() {
                break;
            }
            levels.push(above);
        }
        Self { id, levels }
    }

    /// The tile.
    pub fn id(&self) -> TileId {
        self.id
    }

    /// The hashes the tile holds.
    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Tiles with their inner nodes ([`TileNodes`]), shared: any node they
/// cover is a lookup.
#[derive(Debug, Default, Clone)]
pub struct NodeTiles {
    tiles: HashMap<TileId, std::sync::Arc<TileNodes>>,
}

impl NodeTiles {
    /// Adds or replaces a tile.
    pub fn insert(&mut self, tile: std::sync::Arc<TileNodes>) {
        self.tiles.insert(tile.id, tile);
    }
}

impl NodeSource for NodeTiles {
    fn node(&self, level: u32, index: u64) -> Result<Hash, LedgerError> {
        let id = tile_of(level, index);
        let inner = level % TILE_HEIGHT;
        let missing = || LedgerError::Missing(format!("node {level}/{index} (tile {}/{})", id.0, id.1));
        let tile = self.tiles.get(&id).ok_or_else(missing)?;
        let position = usize::try_from(index - (id.1 << (TILE_HEIGHT - inner))).map_err(|_| missing())?;
        tile.levels.get(inner as usize).and_then(|nodes| nodes.get(position)).copied().ok_or_else(missing)
    }
}

/// Appends leaves to a tree held in tiles, starting from its right edge, and
/// collects every tile that changes.
#[derive(Debug, Clone)]
pub struct TileAppender {
    size: u64,
    /// The last tile of each tile-level, possibly empty.
    edge: Vec<Tile>,
    /// Tiles that filled up since the last [`TileAppender::take_full`].
    full: BTreeMap<TileId, Tile>,
}

impl TileAppender {
    /// An appender for a new, empty tree.
    pub fn empty() -> Self {
        Self { size: 0, edge: Vec::new(), full: BTreeMap::new() }
    }

    /// An appender for a tree of `size` leaves whose edge tiles (see
    /// [`edge_tiles`]) are `tiles`; tiles the edge needs and `tiles` lacks
    /// must be empty at that size.
    pub fn new(size: u64, tiles: &TileSet) -> Result<Self, LedgerError> {
        let mut edge = Vec::new();
        for id in edge_tiles(size) {
            let want = tile_len(id, size);
            let tile = tiles.get(id).cloned().unwrap_or_else(|| Tile::empty(id.0, id.1));
            if tile.hashes.len() as u64 != want {
                return Err(LedgerError::Missing(format!(
                    "tile {}/{} holds {} hashes, but a tree of {size} leaves needs {want} there",
                    id.0,
                    id.1,
                    tile.hashes.len()
                )));
            }
            edge.push(tile);
        }
        Ok(Self { size, edge, full: BTreeMap::new() })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn append(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.edge.len() <= level {
                self.edge.push(Tile::empty(level as u32, 0));
            }
            let tile = &mut self.edge[level];
            tile.hashes.push(hash);
            if !tile.is_full() {
                break;
            }
            // The tile is complete: its root is the next level's new node.
            hash = fold(&tile.hashes);
            let next = Tile::empty(tile.level, tile.index + 1);
            let done = std::mem::replace(tile, next);
            self.full.insert((done.level, done.index), done);
            level += 1;
        }
        self.size += 1;
    }

    /// Tiles that filled up since the last call, in order; they never change
    /// again.
    pub fn take_full(&mut self) -> Vec<Tile> {
        std::mem::take(&mut self.full).into_values().collect()
    }

    /// The edge tiles that hold any hash (they change with the next append).
    pub fn edge(&self) -> impl Iterator<Item = &Tile> {
        self.edge.iter().filter(|tile| !tile.hashes.is_empty())
    }

    /// The tree's root.
    pub fn root(&self) -> Result<Hash, LedgerError> {
        crate::tree::root(&TileSet::new(self.edge.iter().cloned()), self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_tiles_and_lengths() {
        assert_eq!(edge_tiles(0), [(0, 0)]);
        assert_eq!(edge_tiles(255), [(0, 0)]);
        assert_eq!(edge_tiles(256), [(0, 1), (1, 0)]);
        assert_eq!(edge_tiles(70_000), [(0, 273), (1, 1), (2, 0)]);
        assert_eq!(tile_len((0, 273), 70_000), 70_000 - 273 * 256);
        assert_eq!(tile_len((1, 1), 70_000), 273 - 256);
        assert_eq!(tile_len((2, 0), 70_000), 1);
        assert_eq!(tile_of(9, 0), (1, 0));
        assert_eq!(tile_of(7, 6), (0, 3));
    }

    #[test]
    fn tile_nodes_answer_as_the_tile_set_for_every_node_and_prefix() {
        let hashes: Vec<Hash> = (0..=255_u8).map(|byte| Hash([byte; 32])).collect();
        for (tile_level, tile_index) in [(0_u32, 0_u64), (0, 3), (1, 2)] {
            for len in [0, 1, 2, 3, 7, 128, 200, 255, 256] {
                let tile = Tile { level: tile_level, index: tile_index, hashes: hashes[..len].to_vec() };
                let set = TileSet::new([tile.clone()]);
                let mut nodes = NodeTiles::default();
                nodes.insert(std::sync::Arc::new(TileNodes::new(tile)));
                for inner in 0..TILE_HEIGHT {
                    let level = tile_level * TILE_HEIGHT + inner;
                    let first = tile_index << (TILE_HEIGHT - inner);
                    for index in first..first + (1 << (TILE_HEIGHT - inner)) {
                        assert_eq!(
                            nodes.node(level, index).ok(),
                            set.node(level, index).ok(),
                            "{len}: {level}/{index}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_node_needs_exactly_the_prefix_its_span_names() {
        let hashes: Vec<Hash> = (0..=255_u8).map(|byte| Hash([byte; 32])).collect();
        for (level, index) in [(0, 0), (0, 255), (3, 5), (7, 1), (8, 0), (12, 7), (15, 1)] {
            let (id, needed) = tile_span(level, index);
            assert_eq!(id, tile_of(level, index));
            let tile = |len: usize| Tile { level: id.0, index: id.1, hashes: hashes[..len].to_vec() };
            let whole = TileSet::new([tile(256)]).node(level, index).expect("a whole tile answers");
            assert_eq!(TileSet::new([tile(needed)]).node(level, index).expect("the span answers"), whole);
            assert!(TileSet::new([tile(needed - 1)]).node(level, index).is_err(), "{level}/{index}");
        }
    }
}
