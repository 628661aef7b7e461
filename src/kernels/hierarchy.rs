//! The customer decision hierarchy's kernels (issue 34, point 4): which customers bought which of
//! the top products (co-customer counts), Yule's Q between two products, and average-linkage
//! clustering of the products by substitution.

use super::baskets::Csr;
use super::codes::NONE;

/// At most this many products: a customer's purchases of them are one 128-bit mask.
pub const MAX_PRODUCTS: usize = 128;

/// The `n` items in the most purchase orders (`orders[code]`), ties by the smaller code (codes are
/// in key order), most orders first; only items in some purchase order (the engines code every
/// item of a kept line, bought or not).
pub fn top_items(orders: &[u32], n: usize) -> Vec<u32> {
    let mut codes: Vec<u32> = (0..orders.len() as u32).filter(|&c| orders[c as usize] > 0).collect();
    codes.sort_by_key(|&c| (std::cmp::Reverse(orders[c as usize]), c));
    codes.truncate(n.min(MAX_PRODUCTS));
    codes
}

/// Customers who bought the top products: per product, and per pair of them (`both[i * n + j]`,
/// i < j), and how many customers bought any basket item at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoCustomers {
    pub customers: u64,
    pub single: Vec<u64>,
    pub both: Vec<u64>,
}

impl CoCustomers {
    fn new(n: usize) -> CoCustomers {
        CoCustomers { customers: 0, single: vec![0; n], both: vec![0; n * n] }
    }

    /// Add the counts of customers elsewhere (another partition's: a customer lies in one).
    pub fn add(&mut self, o: &CoCustomers) {
        if self.single.is_empty() {
            *self = CoCustomers::new(o.single.len());
        }
        self.customers += o.customers;
        self.single.iter_mut().zip(&o.single).for_each(|(a, b)| *a += b);
        self.both.iter_mut().zip(&o.both).for_each(|(a, b)| *a += b);
    }
}

/// The co-customer counts of the products `top` (item codes, rank order) over the baskets `b` of
/// the orders, each order's customer in `order_customer` ([`NONE`]: a guest's or a rejected order).
pub fn co_customers(order_customer: &[u32], n_customers: usize, b: &Csr, top: &[u32], n_items: usize) -> CoCustomers {
    let n = top.len();
    let mut rank = vec![u8::MAX; n_items];
    for (r, &it) in top.iter().enumerate() {
        rank[it as usize] = r as u8;
    }
    let mut mask = vec![0u128; n_customers];
    let mut any = vec![false; n_customers];
    for (o, &cu) in order_customer.iter().enumerate() {
        if cu == NONE || o >= b.len() {
            continue;
        }
        let items = b.of(o);
        if items.is_empty() {
            continue;
        }
        any[cu as usize] = true;
        for &it in items {
            let r = rank[it as usize];
            if r != u8::MAX {
                mask[cu as usize] |= 1u128 << r;
            }
        }
    }
    let mut c = CoCustomers::new(n);
    c.customers = any.iter().filter(|&&a| a).count() as u64;
    let mut bits = Vec::with_capacity(n);
    for &m in mask.iter().filter(|&&m| m != 0) {
        bits.clear();
        let mut x = m;
        while x != 0 {
            bits.push(x.trailing_zeros() as usize);
            x &= x - 1;
        }
        for (k, &i) in bits.iter().enumerate() {
            c.single[i] += 1;
            for &j in &bits[k + 1..] {
                c.both[i * n + j] += 1;
            }
        }
    }
    c
}

/// Rule "Yule's Q": (ad − bc) / (ad + bc) over the customers who bought both products (a), only
/// the first (b), only the second (c), neither (d); 1 when ad + bc is 0 (then bc is 0: no customer
/// chose one over the other, as scipy's Yule dissimilarity counts it).
pub fn yule_q(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (ad, bc) = (a as i128 * d as i128, b as i128 * c as i128);
    if ad + bc == 0 {
        1.0
    } else {
        (ad - bc) as f64 / (ad + bc) as f64
    }
}

/// One merge of [`average_linkage`]: the two clusters joined (ids as scipy's `linkage` numbers
/// them: 0..n the products, n + k the cluster made by merge k), their distance, the products in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    pub left: usize,
    pub right: usize,
    pub distance: f64,
    pub size: usize,
}

/// Rule "average linkage" (UPGMA): repeatedly join the two clusters with the smallest average
/// distance between their products (ties: the pair with the smaller smaller id, then the smaller
/// larger id), the joined cluster's distance to every other being the size-weighted mean of its
/// two parts' (Lance-Williams). `dist[i * n + j]` is the distance between products i and j.
pub fn average_linkage(n: usize, dist: &[f64]) -> Vec<Merge> {
    // Active clusters: id, size, and distances to the others by position.
    let mut id: Vec<usize> = (0..n).collect();
    let mut size: Vec<usize> = vec![1; n];
    let mut d: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| dist[i * n + j]).collect()).collect();
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    while id.len() > 1 {
        let mut best: Option<(f64, usize, usize, usize, usize)> = None;
        for p in 0..id.len() {
            for q in p + 1..id.len() {
                let (lo, hi) = (id[p].min(id[q]), id[p].max(id[q]));
                let cand = (d[p][q], lo, hi, p, q);
                let better = match best {
                    None => true,
                    Some(b) => (cand.0, cand.1, cand.2) < (b.0, b.1, b.2),
                };
                if better {
                    best = Some(cand);
                }
            }
        }
        let (distance, lo, hi, p, q) = best.expect("two clusters");
        let (sp, sq) = (size[p], size[q]);
        let merged: Vec<f64> = (0..id.len()).map(|k| (sp as f64 * d[p][k] + sq as f64 * d[q][k]) / (sp + sq) as f64).collect();
        merges.push(Merge { left: lo, right: hi, distance, size: sp + sq });
        // The joined cluster takes p's place; q goes.
        let new_id = n + merges.len() - 1;
        for k in 0..id.len() {
            d[p][k] = merged[k];
            d[k][p] = merged[k];
        }
        d[p][p] = 0.0;
        id[p] = new_id;
        size[p] = sp + sq;
        id.remove(q);
        size.remove(q);
        d.remove(q);
        for row in d.iter_mut() {
            row.remove(q);
        }
    }
    merges
}
