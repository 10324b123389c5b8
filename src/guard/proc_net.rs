//! The guarded command's own TCP connections, read from /proc: the process and all its
//! descendants, their socket inodes (/proc/PID/fd), and those sockets' local endpoints
//! (/proc/PID/net/tcp and tcp6). The server sees a client's local endpoint as
//! client_addr/client_port, so this finds the command's backends with no help from the tool.
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// A client-side TCP endpoint: what pg_stat_activity shows as client_addr and client_port.
pub type Endpoint = (IpAddr, u16);

/// `root` and every process descended from it, by walking /proc/*/stat's parent pids.
pub fn process_tree(proc: &Path, root: u32) -> BTreeSet<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir(proc).into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(ppid) = parent_pid(&stat) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut tree = BTreeSet::from([root]);
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or_default() {
            if tree.insert(c) {
                todo.push(c);
            }
        }
    }
    tree
}

/// The fourth field of /proc/PID/stat. The command name (second field) may hold spaces and
/// parentheses, so the fields are counted from its closing parenthesis.
fn parent_pid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is stopped (by SIGTTIN when it read from the terminal while in a process
/// group of its own, by SIGSTOP, or by a tracer).
pub fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| state(&s))
        .is_some_and(|c| c == 'T' || c == 't')
}

fn state(stat: &str) -> Option<char> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// Socket inodes open in any of `pids`.
pub fn socket_inodes(proc: &Path, pids: &BTreeSet<u32>) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for pid in pids {
        let fds = proc.join(pid.to_string()).join("fd");
        for fd in std::fs::read_dir(fds).into_iter().flatten().flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
            {
                out.insert(inode);
            }
        }
    }
    out
}

/// Local endpoints of the TCP sockets among `inodes`, as seen from `pid`'s network
/// namespace.
pub fn endpoints(proc: &Path, pid: u32, inodes: &BTreeSet<u64>) -> BTreeSet<Endpoint> {
    let mut out = BTreeSet::new();
    if inodes.is_empty() {
        return out;
    }
    for table in ["tcp", "tcp6"] {
        let path = proc.join(pid.to_string()).join("net").join(table);
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        out.extend(parse_table(&text, inodes));
    }
    out
}

/// Rows of /proc/net/tcp{,6} whose inode is in `inodes`, as local endpoints.
pub fn parse_table(text: &str, inodes: &BTreeSet<u64>) -> Vec<Endpoint> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode: u64 = fields.get(9)?.parse().ok()?;
            if !inodes.contains(&inode) {
                return None;
            }
            parse_endpoint(fields.get(1)?)
        })
        .collect()
}

/// "0100007F:8AE2" (IPv4) or 32 hex digits and a port (IPv6). The kernel prints each 32-bit
/// word of the address in host byte order, the port as a plain number.
fn parse_endpoint(field: &str) -> Option<Endpoint> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            let v6 = Ipv6Addr::from(bytes);
            // An IPv4 client on a dual-stack socket; the server shows it as IPv4.
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some((ip, port))
}

/// The command's TCP endpoints right now: every socket of the process tree under `root`.
pub fn command_endpoints(root: u32) -> BTreeSet<Endpoint> {
    let proc = Path::new("/proc");
    let tree = process_tree(proc, root);
    let inodes = socket_inodes(proc, &tree);
    endpoints(proc, root, &inodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_tables_parse_as_the_server_sees_clients() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:8AE2 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 20 4 30 10 -1\n\
   1: 0100007F:8AE3 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 9999 1 0 20 4 30 10 -1\n";
        let got = parse_table(v4, &BTreeSet::from([4242]));
        assert_eq!(got, vec![("127.0.0.1".parse().unwrap(), 0x8AE2)]);
        let v6 = "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000001000000:D431 00000000000000000000000001000000:1538 01 00000000:00000000 00:00000000 00000000     0        0 77 1\n\
   1: 0000000000000000FFFF00000100007F:D432 0000000000000000FFFF00000100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 78 1\n";
        let got = parse_table(v6, &BTreeSet::from([77, 78]));
        assert_eq!(
            got,
            vec![
                ("::1".parse().unwrap(), 0xD431),
                ("127.0.0.1".parse().unwrap(), 0xD432)
            ]
        );
    }

    #[test]
    fn parent_pid_survives_odd_command_names() {
        assert_eq!(parent_pid("123 (a) b) c) S 77 123 123 0"), Some(77));
        assert_eq!(parent_pid("garbage"), None);
    }

    #[test]
    fn the_state_is_the_field_after_the_command_name() {
        assert_eq!(state("123 (a) T b) S 77 123 123 0"), Some('S'));
        assert_eq!(state("123 (psql) T 77 123 123 0"), Some('T'));
        assert_eq!(state("garbage"), None);
        assert!(!stopped(std::process::id()));
    }

    #[test]
    fn this_process_sees_its_own_listening_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = command_endpoints(std::process::id());
        assert!(
            found.contains(&("127.0.0.1".parse().unwrap(), port)),
            "{found:?} lacks port {port}"
        );
    }
}
