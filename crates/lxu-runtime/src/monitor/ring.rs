//! A bounded byte buffer keeping the most recent output of a console.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct Ring {
    buf: VecDeque<u8>,
    cap: usize,
}

impl Ring {
    pub fn new(cap: usize) -> Ring {
        Ring {
            buf: VecDeque::new(),
            cap,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.cap == 0 {
            return;
        }
        let data = if data.len() > self.cap {
            &data[data.len() - self.cap..]
        } else {
            data
        };
        let overflow = (self.buf.len() + data.len()).saturating_sub(self.cap);
        self.buf.drain(..overflow);
        self.buf.extend(data);
    }

    pub fn contents(&self) -> Vec<u8> {
        self.buf.iter().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_bytes() {
        let mut r = Ring::new(5);
        r.push(b"abc");
        r.push(b"def");
        assert_eq!(r.contents(), b"bcdef");
        r.push(b"0123456789");
        assert_eq!(r.contents(), b"56789");
        let mut z = Ring::new(0);
        z.push(b"x");
        assert_eq!(z.len(), 0);
    }
}
