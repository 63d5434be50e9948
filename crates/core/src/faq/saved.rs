//! A trained matcher as bytes, so that a bot whose file has not changed loads without training.
//!
//! The format is this build's own: little-endian numbers, each list preceded by its length, in
//! the order the matcher's parts write them. A [`Model`] names what it was trained from (the
//! bot's fingerprint and the build's identity, which the caller gives) and carries a checksum of
//! its body; [`Model::read`] refuses anything else (another bot, another build, a cut or damaged
//! file) with the reason, and the bot is then trained as if nothing had been kept. Reading never
//! trusts a length: a list longer than the bytes left is refused before anything is allocated.

use super::features::HashedMap;

/// The first bytes of every kept model.
const MAGIC: &[u8; 8] = b"FDMODEL\0";

/// This layout's version. Any change to what the matcher's parts write changes it (and the
/// build identity changes with every build anyway).
const FORMAT: u32 = 1;

/// Why kept bytes were not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn refused(what: impl Into<String>) -> Refused {
    Refused(what.into())
}

/// Bytes being written.
#[derive(Default)]
pub(crate) struct Out(Vec<u8>);

impl Out {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }

    pub fn f32(&mut self, v: f32) {
        self.u32(v.to_bits());
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.usize(v.len());
        self.0.extend_from_slice(v);
    }

    pub fn u32s(&mut self, v: &[u32]) {
        self.usize(v.len());
        self.0.reserve(v.len() * 4);
        for &x in v {
            self.u32(x);
        }
    }

    pub fn f32s(&mut self, v: &[f32]) {
        self.usize(v.len());
        self.0.reserve(v.len() * 4);
        for &x in v {
            self.f32(x);
        }
    }

    pub fn usizes(&mut self, v: &[usize]) {
        self.usize(v.len());
        for &x in v {
            self.usize(x);
        }
    }

    /// Postings: `(id, weight)` pairs.
    pub fn pairs(&mut self, v: &[(u32, f32)]) {
        self.usize(v.len());
        self.0.reserve(v.len() * 8);
        for &(id, w) in v {
            self.u32(id);
            self.f32(w);
        }
    }

    /// A list of anything, each item written by `put`.
    pub fn list<T>(&mut self, v: &[T], mut put: impl FnMut(&mut Out, &T)) {
        self.usize(v.len());
        for x in v {
            put(self, x);
        }
    }

    /// A hashed map; the order is the map's own (reading builds the same map).
    pub fn map<V>(&mut self, m: &HashedMap<V>, mut put: impl FnMut(&mut Out, &V)) {
        self.usize(m.len());
        for (&k, v) in m {
            self.u64(k);
            put(self, v);
        }
    }
}

/// Bytes being read.
pub(crate) struct In<'a> {
    rest: &'a [u8],
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refused> {
        if n > self.rest.len() {
            return Err(refused("the file ends early"));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, Refused> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, Refused> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    pub fn u64(&mut self) -> Result<u64, Refused> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    pub fn usize(&mut self) -> Result<usize, Refused> {
        usize::try_from(self.u64()?).map_err(|_| refused("a length does not fit this machine"))
    }

    pub fn f32(&mut self) -> Result<f32, Refused> {
        Ok(f32::from_bits(self.u32()?))
    }

    /// A length of items of at least `width` bytes each, checked against what is left.
    fn len(&mut self, width: usize) -> Result<usize, Refused> {
        let n = self.usize()?;
        if n.checked_mul(width.max(1))
            .is_none_or(|bytes| bytes > self.rest.len())
        {
            return Err(refused("a list is longer than the file"));
        }
        Ok(n)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Refused> {
        let n = self.len(1)?;
        self.take(n)
    }

    pub fn u32s(&mut self) -> Result<Vec<u32>, Refused> {
        let n = self.len(4)?;
        Ok(self
            .take(n * 4)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    pub fn f32s(&mut self) -> Result<Vec<f32>, Refused> {
        let n = self.len(4)?;
        Ok(self
            .take(n * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_bits(u32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect())
    }

    pub fn usizes(&mut self) -> Result<Vec<usize>, Refused> {
        let n = self.len(8)?;
        (0..n).map(|_| self.usize()).collect()
    }

    pub fn pairs(&mut self) -> Result<Vec<(u32, f32)>, Refused> {
        let n = self.len(8)?;
        Ok(self
            .take(n * 8)?
            .chunks_exact(8)
            .map(|c| {
                let id = u32::from_le_bytes(c[..4].try_into().expect("4 bytes"));
                let w = f32::from_bits(u32::from_le_bytes(c[4..].try_into().expect("4 bytes")));
                (id, w)
            })
            .collect())
    }

    pub fn list<T>(
        &mut self,
        mut get: impl FnMut(&mut In<'a>) -> Result<T, Refused>,
    ) -> Result<Vec<T>, Refused> {
        let n = self.len(1)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(get(self)?);
        }
        Ok(v)
    }

    pub fn map<V>(
        &mut self,
        mut get: impl FnMut(&mut In<'a>) -> Result<V, Refused>,
    ) -> Result<HashedMap<V>, Refused> {
        let n = self.len(9)?;
        let mut m = HashedMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let k = self.u64()?;
            m.insert(k, get(self)?);
        }
        Ok(m)
    }

    /// Whether everything was read.
    fn finish(&self) -> Result<(), Refused> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(refused("bytes are left over after the model"))
        }
    }
}

/// A checksum of the body: 64-bit words mixed one after another (the tail padded with zeros).
fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = (h ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^ (h >> 32)
}

/// What a kept model belongs to: a bot's fingerprint (its file and the matcher's settings) and
/// the identity of the build that trained it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelKey {
    /// [`super::Bot::fingerprint`] of the bot as compiled from its file.
    pub fingerprint: String,
    /// Which build of frontdesk trained it: a model is only read by the build that wrote it.
    pub build: String,
}

/// Frames a matcher's bytes with the magic, format, key and checksum.
pub(crate) fn frame(key: &ModelKey, body: &[u8]) -> Vec<u8> {
    let mut out = Out::default();
    out.0.extend_from_slice(MAGIC);
    out.u32(FORMAT);
    out.bytes(key.fingerprint.as_bytes());
    out.bytes(key.build.as_bytes());
    out.u64(checksum(body));
    out.usize(body.len());
    let mut bytes = out.0;
    bytes.extend_from_slice(body);
    bytes
}

/// The body of framed bytes, when they are a model of this format for `key`, whole.
pub(crate) fn unframe<'a>(key: &ModelKey, bytes: &'a [u8]) -> Result<In<'a>, Refused> {
    let mut r = In { rest: bytes };
    if r.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
        return Err(refused("not a frontdesk model file"));
    }
    let format = r.u32()?;
    if format != FORMAT {
        return Err(refused(format!(
            "model format {format}, this build reads {FORMAT}"
        )));
    }
    if r.bytes()? != key.fingerprint.as_bytes() {
        return Err(refused("trained from another version of the bot file"));
    }
    if r.bytes()? != key.build.as_bytes() {
        return Err(refused("trained by another build of frontdesk"));
    }
    let sum = r.u64()?;
    let len = r.usize()?;
    if len != r.rest.len() {
        return Err(refused("the file was cut short or added to"));
    }
    if checksum(r.rest) != sum {
        return Err(refused("the checksum does not match: the file is damaged"));
    }
    Ok(r)
}

/// Reads a whole body with `read`, which must consume all of it.
pub(crate) fn read_all<'a, T>(
    mut body: In<'a>,
    read: impl FnOnce(&mut In<'a>) -> Result<T, Refused>,
) -> Result<T, Refused> {
    let value = read(&mut body)?;
    body.finish()?;
    Ok(value)
}

impl Out {
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ModelKey {
        ModelKey {
            fingerprint: "0123456789abcdef".into(),
            build: "test-build".into(),
        }
    }

    #[test]
    fn numbers_and_lists_read_back_as_written() {
        let mut o = Out::default();
        o.u8(7);
        o.u32(u32::MAX);
        o.u64(1 << 40);
        o.f32(-0.25);
        o.u32s(&[1, 2, 3]);
        o.f32s(&[0.5, f32::MIN_POSITIVE]);
        o.pairs(&[(9, 1.5)]);
        o.usizes(&[0, 5]);
        o.bytes(b"fst");
        o.list(&["a", "bc"], |o, s| o.bytes(s.as_bytes()));
        let mut m = HashedMap::default();
        m.insert(42u64, 3u8);
        m.insert(7u64, 1u8);
        o.map(&m, |o, v| o.u8(*v));
        let framed = frame(&key(), &o.into_bytes());
        let body = unframe(&key(), &framed).unwrap();
        read_all(body, |i| {
            assert_eq!(i.u8()?, 7);
            assert_eq!(i.u32()?, u32::MAX);
            assert_eq!(i.u64()?, 1 << 40);
            assert_eq!(i.f32()?, -0.25);
            assert_eq!(i.u32s()?, vec![1, 2, 3]);
            assert_eq!(i.f32s()?, vec![0.5, f32::MIN_POSITIVE]);
            assert_eq!(i.pairs()?, vec![(9, 1.5)]);
            assert_eq!(i.usizes()?, vec![0, 5]);
            assert_eq!(i.bytes()?, b"fst");
            let strings = i.list(|i| Ok(i.bytes()?.to_vec()))?;
            assert_eq!(strings, vec![b"a".to_vec(), b"bc".to_vec()]);
            assert_eq!(i.map(|i| i.u8())?, m);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn other_keys_and_damaged_bytes_are_refused_with_the_reason() {
        let mut o = Out::default();
        o.f32s(&[1.0; 64]);
        let framed = frame(&key(), &o.into_bytes());
        let other_bot = ModelKey {
            fingerprint: "fedcba9876543210".into(),
            ..key()
        };
        let other_build = ModelKey {
            build: "another".into(),
            ..key()
        };
        let reason = |key: &ModelKey, bytes: &[u8]| unframe(key, bytes).err().unwrap().0;
        assert!(reason(&other_bot, &framed).contains("another version of the bot file"));
        assert!(reason(&other_build, &framed).contains("another build"));
        assert!(reason(&key(), &framed[..framed.len() - 1]).contains("cut short"));
        assert!(reason(&key(), b"GIF89a").contains("not a frontdesk model"));
        let mut flipped = framed.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x10;
        assert!(reason(&key(), &flipped).contains("damaged"));
        let mut later = framed.clone();
        later[8] = 99;
        assert!(reason(&key(), &later).contains("model format 99"));
    }

    #[test]
    fn a_length_beyond_the_file_is_refused_before_allocating() {
        let mut o = Out::default();
        o.usize(usize::MAX / 2);
        let framed = frame(&key(), &o.into_bytes());
        let body = unframe(&key(), &framed).unwrap();
        let err = read_all(body, |i| i.f32s()).unwrap_err();
        assert!(err.0.contains("longer than the file"), "{err}");
        let mut o = Out::default();
        o.u32s(&[1]);
        o.u8(0);
        let framed = frame(&key(), &o.into_bytes());
        let err = read_all(unframe(&key(), &framed).unwrap(), |i| i.u32s()).unwrap_err();
        assert!(err.0.contains("left over"), "{err}");
    }
}
