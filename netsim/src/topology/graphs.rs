//! Random graph generators: Erdős–Rényi G(n, p) and Watts–Strogatz small worlds.
//! Both make undirected graphs; [`orient`] then picks a dialer for every edge.

use std::collections::HashSet;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::error::SimError;

/// Undirected edges at most, so a large `p` cannot ask for an impossible allocation.
pub const MAX_EDGES: u64 = 50_000_000;

/// An undirected edge, smaller end first.
pub type Pair = (u32, u32);

/// G(n, p): every pair is an edge with probability `p`, independently.
///
/// Geometric skipping (Batagelj and Brandes) draws one number per edge rather than
/// one per pair, so sparse graphs on many nodes cost what their edges cost.
pub fn erdos_renyi(nodes: u32, p: f64, rng: &mut ChaCha20Rng) -> Result<Vec<Pair>, SimError> {
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        return Err(SimError::Topology(format!("edge probability {p} is not in [0, 1]")));
    }
    let n = u64::from(nodes);
    let expected = p * (n * n.saturating_sub(1) / 2) as f64;
    if expected > MAX_EDGES as f64 {
        return Err(SimError::Topology(format!(
            "about {expected:.0} edges expected, more than {MAX_EDGES}"
        )));
    }
    let mut edges = Vec::with_capacity(expected.ceil() as usize);
    if p == 0.0 {
        return Ok(edges);
    }
    if p == 1.0 {
        for v in 1..nodes {
            edges.extend((0..v).map(|w| (w, v)));
        }
        return Ok(edges);
    }
    let log_q = (1.0 - p).ln();
    // Walk the lower triangle (v > w) in row order, jumping over the non-edges.
    let (mut v, mut w) = (1u64, -1i64);
    while v < n {
        let r: f64 = rng.gen();
        let skip = ((1.0 - r).ln() / log_q).floor();
        // A huge skip just ends the walk.
        w = w
            .saturating_add(1)
            .saturating_add(skip.min(i64::MAX as f64 / 2.0) as i64);
        while v < n && w >= v as i64 {
            w -= v as i64;
            v += 1;
        }
        if v < n {
            edges.push((w as u32, v as u32));
        }
    }
    Ok(edges)
}

/// Watts–Strogatz: a ring where each node links to its `k / 2` nearest neighbours on
/// each side, then each edge's far end is moved to a random node with probability `beta`
/// (no self-loops or duplicate edges are made; an edge with nowhere to go stays).
pub fn small_world(nodes: u32, k: u32, beta: f64, rng: &mut ChaCha20Rng) -> Result<Vec<Pair>, SimError> {
    if k == 0 || !k.is_multiple_of(2) || k >= nodes {
        return Err(SimError::Topology(format!(
            "small-world lattice_k must be even and in 2..nodes, not {k}"
        )));
    }
    if !(beta.is_finite() && (0.0..=1.0).contains(&beta)) {
        return Err(SimError::Topology(format!("rewire_beta {beta} is not in [0, 1]")));
    }
    let total = u64::from(nodes) * u64::from(k / 2);
    if total > MAX_EDGES {
        return Err(SimError::Topology(format!("{total} edges, more than {MAX_EDGES}")));
    }
    let norm = |a: u32, b: u32| (a.min(b), a.max(b));
    let mut ring = Vec::with_capacity(total as usize);
    for j in 1..=k / 2 {
        for i in 0..nodes {
            ring.push((i, (i + j) % nodes));
        }
    }
    let mut present: HashSet<Pair> = ring.iter().map(|&(a, b)| norm(a, b)).collect();
    let mut edges = Vec::with_capacity(ring.len());
    for (a, b) in ring {
        let mut end = b;
        if rng.gen::<f64>() < beta {
            // A node linked to everyone else has no free end; give up after a few tries.
            for _ in 0..32 {
                let c = rng.gen_range(0..nodes);
                if c != a && !present.contains(&norm(a, c)) {
                    present.remove(&norm(a, b));
                    present.insert(norm(a, c));
                    end = c;
                    break;
                }
            }
        }
        edges.push(norm(a, end));
    }
    Ok(edges)
}

/// Gives every undirected edge a dialer, by a fair coin.
pub fn orient(pairs: &[Pair], rng: &mut ChaCha20Rng) -> Vec<(u32, u32)> {
    pairs
        .iter()
        .map(|&(a, b)| if rng.gen::<bool>() { (a, b) } else { (b, a) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn degrees(n: u32, edges: &[Pair]) -> Vec<u32> {
        let mut d = vec![0; n as usize];
        for &(a, b) in edges {
            d[a as usize] += 1;
            d[b as usize] += 1;
        }
        d
    }

    #[test]
    fn erdos_renyi_edge_count_is_near_its_mean() {
        let (n, p) = (400u32, 0.02);
        let e = erdos_renyi(n, p, &mut rng(1)).unwrap();
        let mean = p * f64::from(n) * f64::from(n - 1) / 2.0;
        let sd = (mean * (1.0 - p)).sqrt();
        assert!((e.len() as f64 - mean).abs() < 4.0 * sd, "{} vs {mean}", e.len());
        let unique: HashSet<_> = e.iter().collect();
        assert_eq!(unique.len(), e.len(), "no duplicate pairs");
        assert!(e.iter().all(|&(a, b)| a < b && b < n));
        assert_eq!(e, erdos_renyi(n, p, &mut rng(1)).unwrap());
    }

    #[test]
    fn erdos_renyi_extremes() {
        assert!(erdos_renyi(50, 0.0, &mut rng(1)).unwrap().is_empty());
        assert_eq!(erdos_renyi(50, 1.0, &mut rng(1)).unwrap().len(), 50 * 49 / 2);
        assert!(erdos_renyi(50, 1.5, &mut rng(1)).is_err());
        assert!(erdos_renyi(1_000_000, 0.5, &mut rng(1)).is_err());
    }

    #[test]
    fn small_world_without_rewiring_is_a_ring_lattice() {
        let e = small_world(20, 4, 0.0, &mut rng(1)).unwrap();
        assert_eq!(e.len(), 40);
        assert!(degrees(20, &e).iter().all(|&d| d == 4));
        assert!(e.contains(&(0, 19)) && e.contains(&(0, 2)));
    }

    #[test]
    fn small_world_rewiring_keeps_edge_count_and_makes_no_loops() {
        let e = small_world(200, 6, 0.3, &mut rng(4)).unwrap();
        assert_eq!(e.len(), 600);
        assert!(e.iter().all(|&(a, b)| a != b));
        let unique: HashSet<_> = e.iter().collect();
        assert_eq!(unique.len(), 600);
        let lattice = small_world(200, 6, 0.0, &mut rng(4)).unwrap();
        let moved = e.iter().filter(|p| !lattice.contains(p)).count();
        // About 30 % of 600 edges move; far outside that means rewiring is broken.
        assert!((120..=240).contains(&moved), "{moved} edges rewired");
        assert!(degrees(200, &e).iter().sum::<u32>() == 1_200);
    }

    #[test]
    fn small_world_bad_parameters() {
        assert!(small_world(20, 3, 0.1, &mut rng(1)).is_err());
        assert!(small_world(4, 4, 0.1, &mut rng(1)).is_err());
        assert!(small_world(20, 4, -0.1, &mut rng(1)).is_err());
    }

    #[test]
    fn orientation_is_a_coin_per_edge() {
        let pairs: Vec<Pair> = (0..1_000).map(|i| (i, i + 1)).collect();
        let o = orient(&pairs, &mut rng(2));
        let forward = o.iter().filter(|&&(a, b)| a < b).count();
        assert!((400..=600).contains(&forward), "{forward}");
    }
}
