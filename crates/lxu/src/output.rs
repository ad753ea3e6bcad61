//! Output formats shared by the verbs: LXC's fancy table, JSON, human sizes.

/// LXC's `lxc-ls --fancy` layout: upper-case header, each column as wide as its widest
/// cell, every cell followed by one space.
pub fn table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            for _ in c.chars().count()..widths[i] {
                out.push(' ');
            }
            out.push(' ');
        }
        out.push('\n');
    };
    line(headers);
    for r in rows {
        line(r);
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON value built by hand (the output needs objects, arrays, strings, numbers).
pub enum Json {
    Str(String),
    Num(i64),
    Bool(bool),
    Null,
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn render(&self) -> String {
        match self {
            Json::Str(s) => json_str(s),
            Json::Num(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Null => "null".into(),
            Json::Arr(v) => format!(
                "[{}]",
                v.iter().map(Json::render).collect::<Vec<_>>().join(",")
            ),
            Json::Obj(v) => format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, v)| format!("{}:{}", json_str(k), v.render()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// LXC's size format: `N bytes` below 1 KiB, else two decimals and KiB/MiB/GiB.
pub fn human_bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} bytes");
    }
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_table_layout() {
        let h = vec!["NAME".to_string(), "STATE".to_string()];
        let r = vec![vec!["b1".to_string(), "RUNNING".to_string()]];
        assert_eq!(table(&h, &r), "NAME STATE   \nb1   RUNNING \n");
    }

    #[test]
    fn sizes_and_json() {
        assert_eq!(human_bytes(522), "522 bytes");
        assert_eq!(human_bytes(1188), "1.16 KiB");
        assert_eq!(human_bytes(11010048), "10.50 MiB");
        let j = Json::Obj(vec![
            ("a".into(), Json::Str("x\"y\n".into())),
            (
                "b".into(),
                Json::Arr(vec![Json::Num(1), Json::Null, Json::Bool(true)]),
            ),
        ]);
        assert_eq!(j.render(), r#"{"a":"x\"y\n","b":[1,null,true]}"#);
    }
}
